/* The WebSocket transport of each charge point: one lws client connection,
 * dialled with backoff and jitter and staggered across the gateway, secured
 * per the Security Whitepaper's profiles, with text frames queued for
 * writability and reassembled on receipt.
 *
 * Host names are resolved by lws 4.1.6 with a blocking getaddrinfo() inside
 * lws_client_connect_via_info(); dials are rate-limited, so a slow resolver
 * delays the loop at most once per dial. */
#include <ctype.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/log.h"

#include "bridge.h"

#define OCPP_SUBPROTOCOL "ocpp1.6"

struct tls_vhost {
	struct tls_vhost *next;
	char ca[256], cert[256], key[256];
	struct lws_vhost *vh;
};

/* Where and how one charge point connects, from its keys and configuration. */
struct target {
	bool tls;
	char host[256];
	int port;
	char path[512];
	char user[64];
	unsigned char password[64];
	size_t password_len;
	bool basic;
	int profile;
};

static const char *
key(struct cp *cp, const char *name)
{
	const char *v = sg_keys_get(cp->br->keys, cp->conf->id, name);
	return v ? v : "";
}

static int
hex_decode(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex);
	if (n % 2 || n / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) || sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (unsigned char)v;
	}
	return (int)(n / 2);
}

/* Splits "ws[s]://host[:port]/path" into the target. */
static int
parse_url(const char *url, struct target *t)
{
	const char *p;
	if (strncmp(url, "ws://", 5) == 0) {
		t->tls = false;
		p = url + 5;
	} else if (strncmp(url, "wss://", 6) == 0) {
		t->tls = true;
		p = url + 6;
	} else {
		return -EINVAL;
	}
	size_t hl = strcspn(p, ":/");
	if (hl == 0 || hl >= sizeof(t->host))
		return -EINVAL;
	memcpy(t->host, p, hl);
	t->host[hl] = '\0';
	p += hl;
	t->port = t->tls ? 443 : 80;
	if (*p == ':') {
		char *end;
		long port = strtol(p + 1, &end, 10);
		if (end == p + 1 || port < 1 || port > 65535)
			return -EINVAL;
		t->port = (int)port;
		p = end;
	}
	snprintf(t->path, sizeof(t->path), "%s", *p ? p : "/");
	return 0;
}

/* The seed's "WS,host,port,path,proto,user,pass": proto "socpp1.6" means wss. */
static int
parse_vendor_settings(const char *v, struct target *t)
{
	char buf[512], *f[7];
	snprintf(buf, sizeof(buf), "%s", v);
	char *s = buf;
	for (int i = 0; i < 7; i++) {
		f[i] = s;
		s = strchr(s, ',');
		if (i < 6 && !s)
			return -EINVAL;
		if (s)
			*s++ = '\0';
	}
	char *end;
	long port = strtol(f[2], &end, 10);
	if (strcmp(f[0], "WS") != 0 || !*f[1] || *end || port < 1 || port > 65535)
		return -EINVAL;
	snprintf(t->host, sizeof(t->host), "%s", f[1]);
	t->port = (int)port;
	snprintf(t->path, sizeof(t->path), "%s", *f[3] ? f[3] : "/");
	t->tls = strcmp(f[4], "socpp1.6") == 0;
	if (*f[5]) {
		snprintf(t->user, sizeof(t->user), "%s", f[5]);
		t->password_len = strlen(f[6]) < sizeof(t->password) ? strlen(f[6]) : 0;
		memcpy(t->password, f[6], t->password_len);
		t->basic = true;
	}
	return 0;
}

/* The target for security profile `profile` and VendorWebsocketSettings
 * `vendor`: 0, or -EINVAL with the reason in why. */
static int
build_target(struct cp *cp, struct target *t, int profile, const char *vendor, char *why,
             size_t why_len)
{
	struct bridge *br = cp->br;
	memset(t, 0, sizeof(*t));
	const char *url = cp->conf->csms_url[0] ? cp->conf->csms_url : br->svc.conf.csms.url;
	if (*vendor ? parse_vendor_settings(vendor, t) : parse_url(url, t)) {
		snprintf(why, why_len, "cannot use the Central System address");
		return -EINVAL;
	}
	/* <url>/<id>, unless the URL already holds what the server needs. */
	if (!sg_keys_get_bool(br->keys, cp->conf->id, "UrlHasServerToken")) {
		size_t n = strlen(t->path);
		snprintf(t->path + n, sizeof(t->path) - n, "%s%s",
		         n && t->path[n - 1] == '/' ? "" : "/", cp->id);
	}
	t->profile = profile;
	if (t->profile >= 2 && !t->tls) {
		snprintf(why, why_len, "security profile %d needs a wss:// address", t->profile);
		return -EINVAL;
	}
	if ((t->profile == 1 || t->profile == 2) && !t->basic) {
		snprintf(t->user, sizeof(t->user), "%s", cp->id);
		int n = hex_decode(key(cp, "AuthorizationKey"), t->password, sizeof(t->password));
		if (n <= 0) {
			snprintf(why, why_len, "security profile %d needs an AuthorizationKey",
			         t->profile);
			return -EINVAL;
		}
		t->password_len = (size_t)n;
		t->basic = true;
	}
	return 0;
}

static int
make_target(struct cp *cp, struct target *t)
{
	char why[96];
	int profile = (int)sg_keys_get_int(cp->br->keys, cp->conf->id, "SecurityProfile");
	if (build_target(cp, t, profile, key(cp, "VendorWebsocketSettings"), why, sizeof(why)) <
	    0) {
		sg_err("%s: %s, not connecting", cp->conf->id, why);
		return -EINVAL;
	}
	return 0;
}

int
ws_target_check(struct cp *cp, int profile, const char *vendor, char *why, size_t why_len)
{
	struct target t;
	int rc = build_target(cp, &t, profile, vendor ? vendor : key(cp, "VendorWebsocketSettings"),
	                      why, why_len);
	explicit_bzero(t.password, sizeof(t.password));
	return rc;
}

static struct lws_vhost *
tls_vhost(struct cp *cp, const struct target *t)
{
	struct bridge *br = cp->br;
	const char *ca = cp->conf->ca_file[0] ? cp->conf->ca_file : br->svc.conf.csms.ca_file;
	const char *cert = t->profile == 3 ? cp->conf->client_cert : "";
	const char *keyf = t->profile == 3 ? cp->conf->client_key : "";
	for (struct tls_vhost *v = br->tls_vhosts; v; v = v->next)
		if (!strcmp(v->ca, ca) && !strcmp(v->cert, cert) && !strcmp(v->key, keyf))
			return v->vh;

	struct tls_vhost *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	snprintf(v->ca, sizeof(v->ca), "%s", ca);
	snprintf(v->cert, sizeof(v->cert), "%s", cert);
	snprintf(v->key, sizeof(v->key), "%s", keyf);
	char name[32];
	static int n_vhosts;
	snprintf(name, sizeof(name), "tls%d", ++n_vhosts);
	struct lws_context_creation_info info = {
	    .port = CONTEXT_PORT_NO_LISTEN,
	    .vhost_name = name,
	    .protocols = bridge_protocols(),
	    .options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT,
	    .client_ssl_ca_filepath = v->ca[0] ? v->ca : NULL,
	    .client_ssl_cert_filepath = v->cert[0] ? v->cert : NULL,
	    .client_ssl_private_key_filepath = v->key[0] ? v->key : NULL,
	    /* TLS 1.2 or newer (Security Whitepaper). */
	    .ssl_client_options_set = SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1,
	};
	v->vh = lws_create_vhost(br->ctx, &info);
	if (!v->vh) {
		sg_err("%s: cannot set up TLS (CA \"%s\", certificate \"%s\")", cp->conf->id, v->ca,
		       v->cert);
		free(v);
		return NULL;
	}
	v->next = br->tls_vhosts;
	br->tls_vhosts = v;
	return v->vh;
}

void
bridge_tls_vhosts_free(struct bridge *br)
{
	while (br->tls_vhosts) {
		struct tls_vhost *v = br->tls_vhosts;
		br->tls_vhosts = v->next;
		free(v); /* the vhost itself goes with the context */
	}
}

void
ws_schedule_dial(struct cp *cp, bool after_failure)
{
	struct bridge *br = cp->br;
	int64_t now = bridge_now();
	int64_t delay = 0;
	if (after_failure) {
		/* Exponential backoff with up to 50% random jitter. */
		delay = cp->backoff_ms + (int64_t)(random() % (cp->backoff_ms / 2 + 1));
		cp->backoff_ms *= 2;
		if (cp->backoff_ms > BRIDGE_BACKOFF_MAX_MS)
			cp->backoff_ms = BRIDGE_BACKOFF_MAX_MS;
	}
	/* Stagger: one dial slot every BRIDGE_DIAL_SPACING_MS across all charge
	 * points, so 500 of them coming back after an uplink outage do not storm
	 * the Central System (their BootNotifications follow the same spacing). */
	int64_t at = now + delay;
	if (at < br->next_dial)
		at = br->next_dial;
	br->next_dial = at + BRIDGE_DIAL_SPACING_MS;
	cp->link = LINK_IDLE;
	cp->dial_at = at;
	cp_wake(cp, at);
}

void
ws_dial(struct cp *cp)
{
	struct target t;
	if (make_target(cp, &t) < 0) {
		ws_schedule_dial(cp, true);
		return;
	}
	struct lws_vhost *vh = t.tls ? tls_vhost(cp, &t) : cp->br->vhost;
	if (!vh) {
		ws_schedule_dial(cp, true);
		return;
	}
	struct lws_client_connect_info i = {
	    .context = cp->br->ctx,
	    .address = t.host,
	    .port = t.port,
	    .path = t.path,
	    .host = t.host,
	    .origin = t.host,
	    .ssl_connection = t.tls ? LCCSCF_USE_SSL : 0,
	    .protocol = OCPP_SUBPROTOCOL,
	    .local_protocol_name = bridge_ws_protocol.name,
	    .vhost = vh,
	    .userdata = cp,
	    .pwsi = &cp->wsi,
	};
	if (snprintf(cp->url, sizeof(cp->url), "%s://%s:%d%s", t.tls ? "wss" : "ws", t.host, t.port,
	             t.path) >= (int)sizeof(cp->url))
		strcpy(cp->url + sizeof(cp->url) - 4, "..."); /* for display only */
	sg_info("%s: connecting to %s (security profile %d)", cp->conf->id, cp->url, t.profile);
	cp->link = LINK_CONNECTING;
	cp->closing = false;
	cp_publish_state(cp);
	if (!lws_client_connect_via_info(&i)) {
		/* lws already reported CLIENT_CONNECTION_ERROR, or failed early */
		if (cp->link == LINK_CONNECTING)
			cp_link_down(cp, "connect failed");
	}
}

int
ws_send(struct cp *cp, const char *text, size_t len)
{
	if (!cp->wsi || cp->link != LINK_OPEN)
		return -ENOTCONN;
	struct frame *f = malloc(sizeof(*f) + LWS_PRE + len);
	if (!f)
		return -ENOMEM;
	f->next = NULL;
	f->len = len;
	memcpy(f->buf + LWS_PRE, text, len);
	if (cp->out_tail)
		cp->out_tail->next = f;
	else
		cp->out_head = f;
	cp->out_tail = f;
	cp->last_sent = bridge_now();
	lws_callback_on_writable(cp->wsi);
	return 0;
}

void
ws_close(struct cp *cp, const char *why)
{
	if (!cp->wsi)
		return;
	sg_info("%s: closing the connection: %s", cp->conf->id, why);
	cp->closing = true;
	lws_set_timeout(cp->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

static void
drop_frames(struct cp *cp)
{
	while (cp->out_head) {
		struct frame *f = cp->out_head;
		cp->out_head = f->next;
		free(f);
	}
	cp->out_tail = NULL;
	cp->rx_len = 0;
}

static int
add_basic_auth(struct cp *cp, struct lws *wsi, unsigned char **p, unsigned char *end)
{
	struct target t;
	if (make_target(cp, &t) < 0 || !t.basic)
		return 0;
	unsigned char plain[192];
	size_t ul = strlen(t.user);
	if (ul + 1 + t.password_len > sizeof(plain))
		return -1;
	memcpy(plain, t.user, ul);
	plain[ul] = ':';
	memcpy(plain + ul + 1, t.password, t.password_len);
	char value[300] = "Basic ";
	int n = lws_b64_encode_string((const char *)plain, (int)(ul + 1 + t.password_len),
	                              value + 6, (int)sizeof(value) - 6);
	explicit_bzero(plain, sizeof(plain));
	explicit_bzero(t.password, sizeof(t.password));
	if (n < 0)
		return -1;
	int rc = lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
	                                      (unsigned char *)value, 6 + n, p, end);
	explicit_bzero(value, sizeof(value));
	return rc ? -1 : 0;
}

static void
receive(struct cp *cp, struct lws *wsi, const char *in, size_t len)
{
	if (lws_frame_is_binary(wsi)) {
		if (lws_is_final_fragment(wsi))
			sg_warn("%s: binary WebSocket frame ignored (OCPP-J is text)",
			        cp->conf->id);
		return;
	}
	/* Keep at most one byte more than a frame may have: the RPC engine
	 * refuses the frame as too large and answers from its first bytes. */
	size_t cap = RPC_DEFAULT_MAX_FRAME + 1;
	size_t take = cp->rx_len + len > cap ? cap - cp->rx_len : len;
	if (cp->rx_len + take > cp->rx_cap) {
		size_t ncap = cp->rx_cap ? cp->rx_cap : 1024;
		while (ncap < cp->rx_len + take)
			ncap *= 2;
		char *n = realloc(cp->rx, ncap);
		if (!n) {
			sg_err("%s: out of memory receiving a frame, dropped", cp->conf->id);
			cp->rx_len = 0;
			return;
		}
		cp->rx = n;
		cp->rx_cap = ncap;
	}
	memcpy(cp->rx + cp->rx_len, in, take);
	cp->rx_len += take;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return;
	size_t n = cp->rx_len;
	cp->rx_len = 0;
	rpc_input(cp->rpc, cp->rx, n, bridge_now());
	cp_kick(cp);
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct cp *cp = user;
	char proto[32];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
		if (!cp)
			return 0;
		return add_basic_auth(cp, wsi, (unsigned char **)in, *(unsigned char **)in + len);

	case LWS_CALLBACK_CLIENT_FILTER_PRE_ESTABLISH:
		/* A Central System that does not agree to ocpp1.6 is not ours to talk to. */
		if (lws_hdr_copy(wsi, proto, sizeof(proto), WSI_TOKEN_PROTOCOL) <= 0 ||
		    strcmp(proto, OCPP_SUBPROTOCOL) != 0) {
			sg_err("%s: the Central System did not agree to subprotocol %s, refusing",
			       cp ? cp->conf->id : "?", OCPP_SUBPROTOCOL);
			return 1;
		}
		return 0;

	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (cp) {
			cp->wsi = wsi;
			cp_link_up(cp);
		}
		return 0;

	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (cp && cp->wsi == wsi) {
			cp->wsi = NULL;
			drop_frames(cp);
			cp_link_down(cp, in && len ? (const char *)in : "connection error");
		} else if (cp && cp->link == LINK_CONNECTING) {
			drop_frames(cp);
			cp_link_down(cp, in && len ? (const char *)in : "connection error");
		}
		return 0;

	case LWS_CALLBACK_CLIENT_CLOSED:
		if (cp && cp->wsi == wsi) {
			cp->wsi = NULL;
			drop_frames(cp);
			cp_link_down(cp, "closed");
		}
		return 0;

	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (cp && cp->wsi == wsi)
			receive(cp, wsi, in, len);
		return 0;

	case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
		if (cp && cp->wsi == wsi)
			cp_pong(cp);
		return 0;

	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!cp || cp->wsi != wsi)
			return 0;
		if (cp->closing)
			return -1;
		if (cp->ping_due) {
			unsigned char buf[LWS_PRE + 1];
			cp->ping_due = false;
			if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
				return -1;
		} else if (cp->out_head) {
			struct frame *f = cp->out_head;
			cp->out_head = f->next;
			if (!cp->out_head)
				cp->out_tail = NULL;
			int w = lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
			free(f);
			if (w < 0)
				return -1;
		}
		if (cp->out_head || cp->ping_due) {
			lws_callback_on_writable(wsi);
		} else if (cp->close_after_flush) {
			cp->close_after_flush = false;
			cp->closing = true;
			sg_info("%s: reconnecting with the new settings", cp->conf->id);
			return -1;
		}
		return 0;

	case LWS_CALLBACK_WSI_DESTROY:
		if (cp && cp->wsi == wsi) {
			cp->wsi = NULL;
			drop_frames(cp);
			if (cp->link != LINK_IDLE)
				cp_link_down(cp, "connection destroyed");
		}
		return 0;

	default:
		return 0;
	}
}

const struct lws_protocols bridge_ws_protocol = {
    .name = "sitegate-ocpp",
    .callback = ws_callback,
    .rx_buffer_size = 4096, /* frames are reassembled in cp->rx: small per connection */
};
