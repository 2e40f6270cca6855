-- Patients: the registration record every other part of the clinic points
-- at. Names are stored exactly as given (any script); searchable forms are
-- derived columns with trigram indexes.

CREATE SEQUENCE patient_mrn_seq START 100001;

CREATE TABLE patients (
  id                  bigserial PRIMARY KEY,
  mrn                 text NOT NULL UNIQUE
                        DEFAULT 'MRN' || nextval('patient_mrn_seq')::text,
  family_name         text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 200),
  given_name          text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 200),
  preferred_name      text CHECK (length(preferred_name) <= 200),
  date_of_birth       date NOT NULL CHECK (date_of_birth >= DATE '1880-01-01'),
  sex_at_birth        text CHECK (sex_at_birth IN ('female', 'male', 'intersex', 'unknown')),
  gender_identity     text CHECK (length(gender_identity) <= 100),
  phone_e164          text CHECK (phone_e164 ~ '^\+[1-9][0-9]{6,14}$'),
  email               text CHECK (length(email) <= 254 AND email LIKE '%_@_%'),
  address             text CHECK (length(address) <= 500),
  preferred_language  text CHECK (length(preferred_language) <= 50),
  interpreter_needed  boolean NOT NULL DEFAULT false,
  emergency_contact   text CHECK (length(emergency_contact) <= 300),
  consent_sms         boolean NOT NULL DEFAULT false,
  consent_voice       boolean NOT NULL DEFAULT false,
  consent_email       boolean NOT NULL DEFAULT false,
  merged_into         bigint REFERENCES patients (id),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CHECK (merged_into IS NULL OR merged_into <> id)
);
CREATE INDEX patients_phone_idx ON patients (phone_e164) WHERE merged_into IS NULL;
CREATE INDEX patients_dob_idx ON patients (date_of_birth) WHERE merged_into IS NULL;
