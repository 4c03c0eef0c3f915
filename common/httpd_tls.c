/* httpd_tls.c - the HTTPS side of httpd.c: an OpenSSL server context from a PEM certificate and key, with ALPN offering h2 (HTTP/2) or HTTP/1.1 only. */
#include "httpd.h"
#include "log.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

/* ALPN of a server that does not speak HTTP/2: a client offering h2 and http/1.1 gets 1.1. */
static const h2o_iovec_t alpn_http1[] = {{H2O_STRLIT("http/1.1")}, {NULL, 0}};

static void log_ssl_error(const char *what, const char *file)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof buf);
    pp_error("httpd: tls: %s %s: %s", what, file, e ? buf : "failed");
    ERR_clear_error();
}

SSL_CTX *pp_httpd_tls_ctx(const char *cert_file, const char *key_file, bool http2)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        log_ssl_error("context", "");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        log_ssl_error("certificate", cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        log_ssl_error("private key", key_file);
        goto fail;
    }
    /* h2o_alpn_protocols: h2 first, then http/1.1; h2o picks the first the client offers */
    h2o_ssl_register_alpn_protocols(ctx, http2 ? h2o_alpn_protocols : alpn_http1);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
