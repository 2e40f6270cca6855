/*
 * Passwords, session tokens and the session check the gate runs.
 *
 * Passwords are hashed with Argon2id (libsodium crypto_pwhash_str); a token
 * is 32 random bytes shown to the desk as 64 hex digits and stored only as
 * its SHA-256. Thread-safe (libsodium is, after sodium_init).
 */
#ifndef FD_AUTH_H
#define FD_AUTH_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "handler.h"

#define AUTH_TOKEN_HEX_LEN 64
#define AUTH_HASH_LEN 32
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 256

/* Checks length rules; FD_OK or INVALID_ARGUMENT with a message. */
int auth_password_policy(const char *password, fd_status *st);
/* Hashes with the configured cost (password_hash_cost). 0 or -1 (ENOMEM). */
int auth_hash_password(const char *password, char out[crypto_pwhash_STRBYTES])
	__attribute__((warn_unused_result));
bool auth_verify_password(const char *hash, const char *password);
/* Spends about the time of a real verification, so an unknown user name
 * answers as slowly as a wrong password. */
void auth_verify_dummy(const char *password);

void auth_new_token(char hex[AUTH_TOKEN_HEX_LEN + 1], uint8_t hash[AUTH_HASH_LEN]);
/* -1 when token is not 64 hex digits. */
int auth_token_hash(const char *token, uint8_t hash[AUTH_HASH_LEN]);

/* Finds the live session for token inside the call's transaction, refreshes
 * its idle timer, and fills *s (arena strings). FD_OK, UNAUTHENTICATED, or
 * a database status. */
int auth_session_load(fd_ctx *ctx, const char *token, fd_session *s);

/* Roles from a text[] value ("{admin,front_desk}") to bits. */
unsigned auth_roles_from_names(char **names, size_t n);

#endif
