/* The server's version, shown by Health.Ping and `frontdeskd --version`. */
#ifndef FD_VERSION_H
#define FD_VERSION_H

#define FD_SERVER_VERSION "0.1.0"

#endif
