// SPDX-License-Identifier: GPL-2.0
/*
 * tlscerts DIR [IP...]: the certificates of the TLS tests, made at test time
 * with GnuTLS's x509 API (ECDSA P-256, SHA-256), each with its key (mode
 * 0600):
 *
 *   ca.pem                the site CA
 *   client.pem/.key       the hub's certificate, signed by the site CA
 *   good.pem/.key         a server for 127.0.0.1 and every IP given (e.g.
 *                         the test machines' LAN addresses), signed by the
 *                         site CA (the other servers have them too)
 *   other-client.pem/.key a client signed by another CA (other-ca.pem)
 *   wrong.pem/.key        the same, signed by another CA (other-ca.pem)
 *   expired.pem/.key      signed by the site CA, expired yesterday
 *   selfsigned.pem/.key   its own issuer: a CA nobody knows
 *   good.pin              sha256:HEX of good's public key, for pin =
 *   other.pin             a pin that matches no certificate here
 *
 * With IPs given, the servers' certificates may also act as clients (a
 * NATS server's route to another).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define CHECK(x)							\
	do {								\
		int ret_ = (x);						\
		if (ret_ < 0) {						\
			fprintf(stderr, "tlscerts: %s: %s\n", #x,	\
				gnutls_strerror(ret_));			\
			exit(1);					\
		}							\
	} while (0)

struct id {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
};

static const char *dir;
static unsigned int serial = 1;
/* More IPv4 addresses for the good server's subjectAltName. */
static char **more_ips;
static int n_more_ips;

static void save(const char *name, const gnutls_datum_t *d, int mode)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0 || write(fd, d->data, d->size) != (ssize_t)d->size) {
		fprintf(stderr, "tlscerts: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	close(fd);
}

/*
 * A certificate for @cn: a CA if @ca, else a TLS server (IP addresses
 * 127.0.0.1 and those given on the command line in its subjectAltName) or
 * client. Signed by @issuer, or by
 * itself when NULL; valid from @from to @to days from now.
 */

static struct id make(const char *cn, bool ca, bool server,
		      const struct id *issuer, int from, int to)
{
	static const unsigned char lo[4] = { 127, 0, 0, 1 };
	unsigned char kid[64];
	size_t kidlen = sizeof(kid);
	time_t now = time(NULL);
	unsigned char sn[4];
	struct id id;

	CHECK(gnutls_x509_privkey_init(&id.key));
	CHECK(gnutls_x509_privkey_generate(id.key, GNUTLS_PK_ECDSA,
			GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
	CHECK(gnutls_x509_crt_init(&id.crt));
	CHECK(gnutls_x509_crt_set_version(id.crt, 3));
	sn[0] = 0x10;
	sn[1] = serial >> 16;
	sn[2] = serial >> 8;
	sn[3] = serial++;
	CHECK(gnutls_x509_crt_set_serial(id.crt, sn, sizeof(sn)));
	CHECK(gnutls_x509_crt_set_activation_time(id.crt, now + from * 86400L));
	CHECK(gnutls_x509_crt_set_expiration_time(id.crt, now + to * 86400L));
	CHECK(gnutls_x509_crt_set_dn_by_oid(id.crt, GNUTLS_OID_X520_COMMON_NAME,
					    0, cn, strlen(cn)));
	CHECK(gnutls_x509_crt_set_key(id.crt, id.key));
	CHECK(gnutls_x509_crt_get_key_id(id.crt, 0, kid, &kidlen));
	CHECK(gnutls_x509_crt_set_subject_key_id(id.crt, kid, kidlen));
	if (ca) {
		CHECK(gnutls_x509_crt_set_basic_constraints(id.crt, 1, -1));
		CHECK(gnutls_x509_crt_set_key_usage(id.crt,
				GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
	} else {
		CHECK(gnutls_x509_crt_set_basic_constraints(id.crt, 0, -1));
		CHECK(gnutls_x509_crt_set_key_usage(id.crt,
				GNUTLS_KEY_DIGITAL_SIGNATURE));
		CHECK(gnutls_x509_crt_set_key_purpose_oid(id.crt, server ?
				GNUTLS_KP_TLS_WWW_SERVER :
				GNUTLS_KP_TLS_WWW_CLIENT, 0));
		if (server)
			CHECK(gnutls_x509_crt_set_subject_alt_name(id.crt,
					GNUTLS_SAN_IPADDRESS, lo, sizeof(lo),
					GNUTLS_FSAN_SET));
		for (int i = 0; server && i < n_more_ips; i++) {
			struct in_addr a;

			if (inet_pton(AF_INET, more_ips[i], &a) != 1) {
				fprintf(stderr, "tlscerts: %s: not an IPv4 address\n",
					more_ips[i]);
				exit(2);
			}
			CHECK(gnutls_x509_crt_set_subject_alt_name(id.crt,
					GNUTLS_SAN_IPADDRESS, &a, sizeof(a),
					GNUTLS_FSAN_APPEND));
		}
		/* A NATS server's certificate also serves its cluster routes. */
		if (server && n_more_ips)
			CHECK(gnutls_x509_crt_set_key_purpose_oid(id.crt,
					GNUTLS_KP_TLS_WWW_CLIENT, 0));
	}
	if (issuer) {
		kidlen = sizeof(kid);
		CHECK(gnutls_x509_crt_get_subject_key_id(issuer->crt, kid,
							 &kidlen, NULL));
		CHECK(gnutls_x509_crt_set_authority_key_id(id.crt, kid,
							   kidlen));
	}
	CHECK(gnutls_x509_crt_sign2(id.crt, issuer ? issuer->crt : id.crt,
				    issuer ? issuer->key : id.key,
				    GNUTLS_DIG_SHA256, 0));
	return id;
}

static void write_id(const char *name, const struct id *id, bool key)
{
	gnutls_datum_t d;
	char file[64];

	CHECK(gnutls_x509_crt_export2(id->crt, GNUTLS_X509_FMT_PEM, &d));
	snprintf(file, sizeof(file), "%s.pem", name);
	save(file, &d, 0644);
	gnutls_free(d.data);
	if (!key)
		return;
	CHECK(gnutls_x509_privkey_export2(id->key, GNUTLS_X509_FMT_PEM, &d));
	snprintf(file, sizeof(file), "%s.key", name);
	save(file, &d, 0600);
	gnutls_free(d.data);
}

/* sha256:HEX of @id's SubjectPublicKeyInfo, as pin = takes it. */
static void write_pin(const char *name, const struct id *id)
{
	gnutls_pubkey_t pk;
	gnutls_datum_t der, out;
	unsigned char sum[32];
	char text[80];
	int i;

	CHECK(gnutls_pubkey_init(&pk));
	CHECK(gnutls_pubkey_import_x509(pk, id->crt, 0));
	CHECK(gnutls_pubkey_export2(pk, GNUTLS_X509_FMT_DER, &der));
	CHECK(gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, sum));
	strcpy(text, "sha256:");
	for (i = 0; i < 32; i++)
		sprintf(text + 7 + 2 * i, "%02x", sum[i]);
	strcat(text, "\n");
	out.data = (unsigned char *)text;
	out.size = strlen(text);
	save(name, &out, 0644);
	gnutls_free(der.data);
	gnutls_pubkey_deinit(pk);
}

int main(int argc, char **argv)
{
	struct id ca, other, id;

	if (argc < 2) {
		fprintf(stderr, "usage: tlscerts DIR [IP...]\n");
		return 2;
	}
	dir = argv[1];
	more_ips = argv + 2;
	n_more_ips = argc - 2;
	ca = make("persohub test site CA", true, false, NULL, -1, 365);
	other = make("another CA", true, false, NULL, -1, 365);
	write_id("ca", &ca, false);
	write_id("other-ca", &other, false);
	id = make("hub", false, false, &ca, -1, 30);
	write_id("client", &id, true);
	id = make("hub of another site", false, false, &other, -1, 30);
	write_id("other-client", &id, true);
	id = make("127.0.0.1", false, true, &ca, -1, 30);
	write_id("good", &id, true);
	write_pin("good.pin", &id);
	id = make("127.0.0.1", false, true, &other, -1, 30);
	write_id("wrong", &id, true);
	write_pin("other.pin", &id);
	id = make("127.0.0.1", false, true, &ca, -30, -1);
	write_id("expired", &id, true);
	id = make("127.0.0.1", false, true, NULL, -1, 30);
	write_id("selfsigned", &id, true);
	return 0;
}
