/* The configuration key runtime (keys.h) without a broker: the bus is never
 * started, and the linker wraps sg_bus_publish, sg_bus_subscribe_args and
 * sg_bus_reply (see common/CMakeLists.txt) so the tests see every cfg_key
 * payload, every subscription and every cfg_set answer. Values live in real
 * SQLite files in a temporary state directory. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sitegate/bus.h"
#include "sitegate/keys.h"
#include "sitegate/log.h"
#include "sitegate/store.h"

#define KEY_CONF "00112233445566778899aabbccddeeff"         /* from sitegate.conf */
#define KEY_NEW  "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334" /* set by the CSMS */
#define PREFIX   "t/keys"

/* ---- what the bus was asked to do -------------------------------------- */

struct pub {
	char cp[64], name[64];
	struct sg_msg_cfg_key m;
};

static struct pub pubs[2048];
static size_t n_pubs;
static char *all_payloads; /* every encoded payload, back to back */
static size_t all_len;

struct sub {
	char name[64];
	sg_bus_handler *fn;
	void *ud;
};

static struct sub subs[128];
static size_t n_subs;
static char last_reply[32];
static size_t n_replies;

int __real_sg_bus_publish(struct sg_bus *bus, enum sg_msg_id id, const void *msg,
                          const struct sg_topic_args *args);
int __wrap_sg_bus_publish(struct sg_bus *bus, enum sg_msg_id id, const void *msg,
                          const struct sg_topic_args *args);
int __real_sg_bus_subscribe_args(struct sg_bus *bus, enum sg_msg_id id,
                                 const struct sg_topic_args *args, sg_bus_handler *fn, void *ud);
int __wrap_sg_bus_subscribe_args(struct sg_bus *bus, enum sg_msg_id id,
                                 const struct sg_topic_args *args, sg_bus_handler *fn, void *ud);
int __wrap_sg_bus_reply(struct sg_bus *bus, const struct sg_bus_in *in, const void *reply);

int
__wrap_sg_bus_publish(struct sg_bus *bus, enum sg_msg_id id, const void *msg,
                      const struct sg_topic_args *args)
{
	msgpack_sbuffer sb;

	msgpack_sbuffer_init(&sb);
	assert_int_equal(sg_msg_encode(id, msg, &sb), 0);
	char *grown = realloc(all_payloads, all_len + sb.size);
	assert_non_null(grown);
	all_payloads = grown;
	memcpy(all_payloads + all_len, sb.data, sb.size);
	all_len += sb.size;
	msgpack_sbuffer_destroy(&sb);
	if (id == SG_MSG_cfg_key) {
		assert_true(n_pubs < sizeof(pubs) / sizeof(pubs[0]));
		struct pub *p = &pubs[n_pubs++];
		snprintf(p->cp, sizeof(p->cp), "%s", args->cp);
		snprintf(p->name, sizeof(p->name), "%s", args->name);
		p->m = *(const struct sg_msg_cfg_key *)msg;
	}
	return __real_sg_bus_publish(bus, id, msg, args);
}

int
__wrap_sg_bus_subscribe_args(struct sg_bus *bus, enum sg_msg_id id,
                             const struct sg_topic_args *args, sg_bus_handler *fn, void *ud)
{
	assert_int_equal(id, SG_MSG_cfg_set);
	assert_string_equal(args->cp, ""); /* every charge point */
	assert_true(n_subs < sizeof(subs) / sizeof(subs[0]));
	snprintf(subs[n_subs].name, sizeof(subs[n_subs].name), "%s", args->name);
	subs[n_subs].fn = fn;
	subs[n_subs].ud = ud;
	n_subs++;
	return __real_sg_bus_subscribe_args(bus, id, args, fn, ud);
}

int
__wrap_sg_bus_reply(struct sg_bus *bus, const struct sg_bus_in *in, const void *reply)
{
	const struct sg_msg_cfg_set_result *r = reply;

	assert_int_equal(in->id, SG_MSG_cfg_set);
	snprintf(last_reply, sizeof(last_reply), "%s", r->status);
	n_replies++;
	return 0;
}

static void
forget_bus_calls(void)
{
	n_pubs = n_subs = n_replies = 0;
	last_reply[0] = '\0';
	free(all_payloads);
	all_payloads = NULL;
	all_len = 0;
}

/* The latest cfg_key of cp/name, or NULL. */
static const struct sg_msg_cfg_key *
published(const char *cp, const char *name)
{
	for (size_t i = n_pubs; i-- > 0;)
		if (strcmp(pubs[i].cp, cp) == 0 && strcmp(pubs[i].name, name) == 0)
			return &pubs[i].m;
	return NULL;
}

static bool
ever_published(const char *text)
{
	return all_len > 0 && memmem(all_payloads, all_len, text, strlen(text)) != NULL;
}

/* ---- change callbacks --------------------------------------------------- */

struct change {
	char cp[64], name[64], value[SG_KEY_VALUE_MAX + 1];
};

static struct change changes[64];
static size_t n_changes;

static void
record_change(struct sg_keys *keys, const char *cp, const struct sg_key_def *def, const char *value,
              void *ud)
{
	assert_true(n_changes < sizeof(changes) / sizeof(changes[0]));
	/* the change is visible to the owner when it hears of it */
	assert_string_equal(sg_keys_get(keys, cp, def->name), value);
	snprintf(changes[n_changes].cp, sizeof(changes[0].cp), "%s", cp);
	snprintf(changes[n_changes].name, sizeof(changes[0].name), "%s", def->name);
	snprintf(changes[n_changes].value, sizeof(changes[0].value), "%s", value);
	n_changes++;
}

/* ---- fixture ------------------------------------------------------------ */

struct fx {
	char dir[64];
	struct sg_cp_conf cps[2];
	struct sg_service svc;
	struct sg_keys *keys;
};

static struct sg_bus *
new_bus(void)
{
	struct sg_bus_config cfg = {
	    .host = "127.0.0.1",
	    .port = 1, /* never started: publishes are remembered, nothing is sent */
	    .client_id = "test-keys",
	    .prefix = PREFIX,
	};
	struct sg_bus *bus = sg_bus_new(&cfg);

	assert_non_null(bus);
	return bus;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sg-test-keys-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->svc.conf.state_dir, sizeof(f->svc.conf.state_dir), "%s", f->dir);
	snprintf(f->svc.conf.csms.url, sizeof(f->svc.conf.csms.url), "ws://csms.example:8180/ocpp");
	snprintf(f->cps[0].id, sizeof(f->cps[0].id), "CP1");
	f->cps[0].n_connectors = 2;
	f->cps[0].security_profile = 1;
	snprintf(f->cps[0].authorization_key, sizeof(f->cps[0].authorization_key), KEY_CONF);
	snprintf(f->cps[1].id, sizeof(f->cps[1].id), "CP2");
	f->cps[1].n_connectors = 1;
	snprintf(f->cps[1].csms_url, sizeof(f->cps[1].csms_url), "wss://secure.example/ocpp16/");
	f->svc.conf.cps = f->cps;
	f->svc.conf.n_cps = 2;
	f->svc.bus = new_bus();
	forget_bus_calls();
	n_changes = 0;
	*state = f;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	sg_keys_free(f->keys);
	sg_bus_free(f->svc.bus);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	forget_bus_calls();
	return 0;
}

/* Starts the keys of service name (again, after a "restart"). */
static struct sg_keys *
start(struct fx *f, const char *name)
{
	if (f->keys != NULL) {
		sg_keys_free(f->keys);
		sg_bus_free(f->svc.bus); /* its subscriptions point at the freed keys */
		f->svc.bus = new_bus();
	}
	forget_bus_calls();
	n_changes = 0;
	f->svc.name = name;
	f->keys = sg_keys_new(&f->svc, NULL);
	assert_non_null(f->keys);
	sg_keys_on_change(f->keys, record_change, NULL);
	return f->keys;
}

static size_t
served_by(const char *owner)
{
	size_t n = 0;

	for (size_t i = 0; i < sg_key_n_defs; i++)
		n += strcmp(sg_key_defs[i].owner, owner) == 0 &&
		     !(sg_key_defs[i].flags & SG_KEYF_OPTIN);
	return n;
}

/* ---- tests -------------------------------------------------------------- */

static void
defaults_are_published_and_subscribed(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "ocpp-bridge");
	const struct sg_msg_cfg_key *m;
	size_t n = served_by("ocpp-bridge");

	/* one subscription per key, all charge points, the table's spelling */
	assert_int_equal(n_subs, n);
	for (size_t i = 0; i < n_subs; i++)
		assert_string_equal(sg_key_find(subs[i].name)->name, subs[i].name);
	/* every key but the secret, for both charge points */
	assert_int_equal(n_pubs, 2 * (n - 1));
	assert_null(published("CP1", "AuthorizationKey"));
	assert_null(published("CP1", "CertSigningWaitMinimum")); /* opt-in */

	m = published("CP1", "HeartbeatInterval");
	assert_non_null(m);
	assert_string_equal(m->value, "30");
	assert_false(m->readonly);
	assert_false(m->vendor);
	assert_string_equal(m->svc, "ocpp-bridge");
	m = published("CP2", "GetConfigurationMaxKeys");
	assert_true(m->readonly);
	m = published("CP1", "VendorChargeBoxId");
	assert_string_equal(m->value, "CP1");
	assert_true(m->vendor);
	assert_string_equal(published("CP2", "VendorChargePointName")->value, "CP2");
	assert_string_equal(published("CP1", "VendorWebsocketSettings")->value,
	                    "WS,csms.example,8180,/ocpp,ocpp1.6,,,");
	assert_string_equal(published("CP2", "VendorWebsocketSettings")->value,
	                    "WS,secure.example,443,/ocpp16/,socpp1.6,,,");
	assert_string_equal(published("CP1", "SecurityProfile")->value, "1");
	assert_string_equal(published("CP2", "SecurityProfile")->value, "0");
	assert_string_equal(published("CP1", "SupportedFeatureProfiles")->value,
	                    "Core,FirmwareManagement,LocalAuthListManagement,Reservation,"
	                    "SmartCharging,RemoteTrigger");
	assert_true(published("CP1", "OEM_NetState")->readonly);

	/* the owner's view */
	assert_int_equal(sg_keys_get_int(k, "CP1", "HeartbeatInterval"), 30);
	assert_int_equal(sg_keys_get_int(k, "CP1", "heartbeatinterval"), 30);
	assert_string_equal(sg_keys_get(k, "CP1", "AuthorizationKey"), KEY_CONF);
	assert_string_equal(sg_keys_get(k, "CP2", "AuthorizationKey"), ""); /* unset */
	assert_false(sg_keys_get_bool(k, "CP1", "UrlHasServerToken"));
	assert_null(sg_keys_get(k, "CP1", "MeterValueSampleInterval")); /* the meter's */
	assert_null(sg_keys_get(k, "CP9", "HeartbeatInterval"));
	assert_null(sg_keys_get(k, "CP1", "CertSigningWaitMinimum"));
	assert_false(ever_published(KEY_CONF));
}

static void
accepted_values_persist(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "ocpp-bridge");

	assert_int_equal(sg_keys_apply(k, "CP1", "HeartbeatInterval", "300"), SG_KEY_ACCEPTED);
	assert_string_equal(published("CP1", "HeartbeatInterval")->value, "300");
	assert_string_equal(published("CP2", "HeartbeatInterval")->value, "30"); /* per cp */
	assert_int_equal(sg_keys_apply(k, "CP2", "webSocketPingInterval", "0"), SG_KEY_ACCEPTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "UrlHasServerToken", "TRUE"), SG_KEY_ACCEPTED);
	assert_string_equal(sg_keys_get(k, "CP1", "UrlHasServerToken"), "true"); /* canonical */

	k = start(f, "ocpp-bridge");
	assert_int_equal(sg_keys_get_int(k, "CP1", "HeartbeatInterval"), 300);
	assert_int_equal(sg_keys_get_int(k, "CP2", "HeartbeatInterval"), 30);
	assert_int_equal(sg_keys_get_int(k, "CP2", "WebSocketPingInterval"), 0);
	assert_true(sg_keys_get_bool(k, "CP1", "UrlHasServerToken"));
	assert_string_equal(published("CP1", "HeartbeatInterval")->value, "300");

	/* the database is the owner's alone: mode 0600 */
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/ocpp-bridge/keys.db", f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void
reboot_keys_wait_for_the_restart(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "ocpp-bridge");

	assert_int_equal(sg_keys_apply(k, "CP1", "VendorChargePointName", "NEWNAME"),
	                 SG_KEY_REBOOT_REQUIRED);
	assert_string_equal(sg_keys_get(k, "CP1", "VendorChargePointName"), "CP1"); /* in effect */
	assert_string_equal(published("CP1", "VendorChargePointName")->value, "NEWNAME");
	assert_int_equal(n_changes, 0);
	assert_int_equal(sg_keys_set(k, "CP1", "VendorChargePointName", "NEWNAME"), 1);

	k = start(f, "ocpp-bridge");
	assert_string_equal(sg_keys_get(k, "CP1", "VendorChargePointName"), "NEWNAME");
	/* the same value again needs no restart */
	assert_int_equal(sg_keys_apply(k, "CP1", "VendorChargePointName", "NEWNAME"),
	                 SG_KEY_ACCEPTED);
	/* "" restores the default: the charge point id, after a restart */
	assert_int_equal(sg_keys_apply(k, "CP1", "VendorChargePointName", ""),
	                 SG_KEY_REBOOT_REQUIRED);
	assert_string_equal(published("CP1", "VendorChargePointName")->value, "CP1");
	k = start(f, "ocpp-bridge");
	assert_string_equal(sg_keys_get(k, "CP1", "VendorChargePointName"), "CP1");

	/* VendorChargeBoxId: no restart, "" restores the id */
	assert_int_equal(sg_keys_apply(k, "CP2", "VendorChargeBoxId", "alias-7"), SG_KEY_ACCEPTED);
	assert_string_equal(sg_keys_get(k, "CP2", "VendorChargeBoxId"), "alias-7");
	assert_int_equal(sg_keys_apply(k, "CP2", "VendorChargeBoxId", ""), SG_KEY_ACCEPTED);
	assert_string_equal(sg_keys_get(k, "CP2", "VendorChargeBoxId"), "CP2");
}

static void
bad_changes_are_rejected(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "ocpp-bridge");
	size_t before;

	assert_int_equal(sg_keys_apply(k, "CP1", "GetConfigurationMaxKeys", "50"),
	                 SG_KEY_REJECTED); /* read-only */
	assert_int_equal(sg_keys_apply(k, "CP1", "HeartbeatInterval", "0"), SG_KEY_REJECTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "HeartbeatInterval", "abc"), SG_KEY_REJECTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "HeartbeatInterval", "-5"), SG_KEY_REJECTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "HeartbeatInterval", NULL), SG_KEY_REJECTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "VendorWebsocketSettings", "WS,h,99999,/,x,,,"),
	                 SG_KEY_REJECTED);
	assert_int_equal(sg_keys_get_int(k, "CP1", "HeartbeatInterval"), 30);
	assert_int_equal(sg_keys_get_int(k, "CP1", "GetConfigurationMaxKeys"), 20);
	/* not ours, not a key, not a charge point */
	assert_int_equal(sg_keys_apply(k, "CP1", "MeterValueSampleInterval", "10"),
	                 SG_KEY_NOT_SUPPORTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "NoSuchKey", "1"), SG_KEY_NOT_SUPPORTED);
	assert_int_equal(sg_keys_apply(k, "CP9", "HeartbeatInterval", "60"), SG_KEY_NOT_SUPPORTED);
	assert_int_equal(n_changes, 0);

	/* SecurityProfile only goes up by ChangeConfiguration */
	before = n_pubs;
	assert_int_equal(sg_keys_apply(k, "CP1", "SecurityProfile", "0"), SG_KEY_REJECTED);
	assert_int_equal(n_pubs, before); /* nothing changed, nothing published */
	assert_int_equal(sg_keys_apply(k, "CP1", "SecurityProfile", "1"), SG_KEY_ACCEPTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "SecurityProfile", "2"), SG_KEY_ACCEPTED);
	assert_int_equal(sg_keys_get_int(k, "CP1", "SecurityProfile"), 2);
	/* the owner itself may lower it */
	assert_int_equal(sg_keys_set(k, "CP1", "SecurityProfile", "1"), 0);
	assert_int_equal(sg_keys_set(k, "CP1", "SecurityProfile", "7"), -EINVAL);
}

/* Reads what fd 2 received while fn ran. */
static char *
capture_stderr(struct fx *f, void (*fn)(struct fx *))
{
	char path[128];
	int saved = dup(STDERR_FILENO), fd;
	static char buf[65536];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr.log", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	fn(f);
	dup2(saved, STDERR_FILENO);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
change_the_secret(struct fx *f)
{
	struct sg_keys *k = f->keys;

	assert_int_equal(sg_keys_apply(k, "CP1", "AuthorizationKey", KEY_NEW), SG_KEY_ACCEPTED);
	/* invalid: one digit short, and an odd count */
	assert_int_equal(sg_keys_apply(k, "CP1", "AuthorizationKey", KEY_NEW "0"), SG_KEY_REJECTED);
	assert_int_equal(sg_keys_set(k, "CP2", "AuthorizationKey", "a1b2c3d4e5f6071829"), -EINVAL);
	assert_int_equal(sg_keys_apply(k, "CP1", "VendorWebsocketSettings",
	                               "WS,h.example,443,/o,socpp1.6,user,S3cretPw,"),
	                 SG_KEY_ACCEPTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "VendorWebsocketSettings",
	                               "WS,h.example,443,/o,ocpp2,user,S3cretPw2,"),
	                 SG_KEY_REJECTED);
}

static void
secrets_are_stored_but_never_shown(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "ocpp-bridge");
	char *log;

	sg_log_set_level(SG_LOG_DEBUG);
	log = capture_stderr(f, change_the_secret);
	sg_log_set_level(SG_LOG_INFO);
	assert_non_null(strstr(log, "AuthorizationKey changed"));
	assert_non_null(strstr(log, "AuthorizationKey rejected"));
	assert_null(strstr(log, "a1b2c3d4e5f6"));
	assert_null(strstr(log, "S3cretPw"));
	assert_non_null(strstr(log, "VendorWebsocketSettings"));

	/* the owner gets it, the callback too; the bus never */
	assert_string_equal(sg_keys_get(k, "CP1", "AuthorizationKey"), KEY_NEW);
	assert_int_equal(n_changes, 2);
	assert_string_equal(changes[0].name, "AuthorizationKey");
	assert_string_equal(changes[0].value, KEY_NEW);
	assert_null(published("CP1", "AuthorizationKey"));
	assert_false(ever_published(KEY_NEW));
	assert_false(ever_published("a1b2c3d4e5f6"));
	/* the password field of VendorWebsocketSettings is masked where shown */
	assert_string_equal(published("CP1", "VendorWebsocketSettings")->value,
	                    "WS,h.example,443,/o,socpp1.6,user,********,");
	assert_false(ever_published("S3cretPw"));
	assert_string_equal(sg_keys_get(k, "CP1", "VendorWebsocketSettings"),
	                    "WS,h.example,443,/o,socpp1.6,user,S3cretPw,");

	k = start(f, "ocpp-bridge");
	assert_string_equal(sg_keys_get(k, "CP1", "AuthorizationKey"), KEY_NEW);
	assert_false(ever_published(KEY_NEW));
	assert_false(ever_published(KEY_CONF));
	assert_false(ever_published("S3cretPw"));
}

static void
changes_are_reported(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "ocpp-bridge");

	assert_int_equal(sg_keys_apply(k, "CP2", "HeartbeatInterval", "120"), SG_KEY_ACCEPTED);
	assert_int_equal(n_changes, 1);
	assert_string_equal(changes[0].cp, "CP2");
	assert_string_equal(changes[0].name, "HeartbeatInterval");
	assert_string_equal(changes[0].value, "120");
	/* the same value: accepted, nothing changed */
	assert_int_equal(sg_keys_apply(k, "CP2", "HeartbeatInterval", "0120"), SG_KEY_ACCEPTED);
	assert_int_equal(n_changes, 1);

	/* internal changes: validated, published, reported; read-only keys too */
	assert_int_equal(sg_keys_set(k, "CP1", "HeartbeatInterval", "45"), 0);
	assert_int_equal(sg_keys_set(k, "CP1", "HeartbeatInterval", "0"), -EINVAL);
	assert_int_equal(sg_keys_set(k, "CP1", "OEM_NetState", "{\"connectivity\":\"ETH\"}"), 0);
	assert_int_equal(sg_keys_set(k, "CP1", "OEM_NetState", "not json"), -EINVAL);
	/* another service's key */
	assert_int_equal(sg_keys_set(k, "CP1", "GetFirmwareUpgradePercentages", "42"), -ENOENT);
	assert_int_equal(sg_keys_set(k, "CP1", "NoSuchKey", "1"), -ENOENT);
	assert_int_equal(sg_keys_set(k, "CP9", "HeartbeatInterval", "60"), -ENOENT);
	assert_int_equal(n_changes, 3);
	assert_string_equal(changes[2].name, "OEM_NetState");
	assert_string_equal(published("CP1", "OEM_NetState")->value, "{\"connectivity\":\"ETH\"}");
	/* but the Central System may not write them */
	assert_int_equal(sg_keys_apply(k, "CP1", "OEM_NetState", "{}"), SG_KEY_REJECTED);

	/* live state is not stored */
	k = start(f, "ocpp-bridge");
	assert_string_equal(sg_keys_get(k, "CP1", "OEM_NetState"), "{}");
	assert_int_equal(sg_keys_get_int(k, "CP1", "GetFirmwareUpgradePercentages"), 0);
	assert_int_equal(sg_keys_get_int(k, "CP1", "HeartbeatInterval"), 45);
	assert_int_equal(n_changes, 0); /* loading reports nothing */
}

static int
veto_profile_3(struct sg_keys *keys, const char *cp, const struct sg_key_def *def,
               const char *value, char *why, size_t why_len, void *ud)
{
	if (strcmp(def->name, "SecurityProfile") == 0 && strcmp(value, "3") == 0) {
		snprintf(why, why_len, "no client certificate");
		return -EINVAL;
	}
	return 0;
}

static void
the_owner_may_veto(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "ocpp-bridge");

	sg_keys_on_check(k, veto_profile_3, NULL);
	assert_int_equal(sg_keys_apply(k, "CP1", "SecurityProfile", "3"), SG_KEY_REJECTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "SecurityProfile", "2"), SG_KEY_ACCEPTED);
	assert_int_equal(sg_keys_get_int(k, "CP1", "SecurityProfile"), 2);
}

static void
the_bus_handler_answers(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "ocpp-bridge");
	struct sub *s = NULL;

	for (size_t i = 0; i < n_subs; i++)
		if (strcmp(subs[i].name, "HeartbeatInterval") == 0)
			s = &subs[i];
	assert_non_null(s);
	assert_ptr_equal(s->ud, k);

	struct sg_msg_cfg_set req = {.v = 1};
	struct sg_topic_args args = {.cp = "CP1", .name = "HeartbeatInterval"};
	struct sg_bus_in in = {
	    .topic = PREFIX "/CP1/config/HeartbeatInterval/set",
	    .id = SG_MSG_cfg_set,
	    .args = &args,
	    .msg = &req,
	    .response_topic = PREFIX "/reply/x",
	    .correlation = "12345678",
	    .correlation_len = 8,
	};
	snprintf(req.value, sizeof(req.value), "600");
	s->fn(f->svc.bus, &in, s->ud);
	assert_string_equal(last_reply, "Accepted");
	assert_int_equal(sg_keys_get_int(k, "CP1", "HeartbeatInterval"), 600);
	assert_string_equal(published("CP1", "HeartbeatInterval")->value, "600");
	assert_int_equal(n_changes, 1);

	snprintf(req.value, sizeof(req.value), "soon");
	s->fn(f->svc.bus, &in, s->ud);
	assert_string_equal(last_reply, "Rejected");

	snprintf(args.cp, sizeof(args.cp), "CP9");
	snprintf(req.value, sizeof(req.value), "60");
	s->fn(f->svc.bus, &in, s->ud);
	assert_string_equal(last_reply, "NotSupported");

	/* no response topic: applied, not answered */
	snprintf(args.cp, sizeof(args.cp), "CP2");
	in.response_topic = NULL;
	s->fn(f->svc.bus, &in, s->ud);
	assert_int_equal(n_replies, 3);
	assert_int_equal(sg_keys_get_int(k, "CP2", "HeartbeatInterval"), 60);
}

static void
sites_narrow_and_default(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "meter");
	const char *const four = "Energy.Active.Import.Register,Power.Active.Import,Current.Import,"
	                         "Voltage";

	assert_int_equal(sg_keys_apply(k, "CP1", "MeterValueSampleInterval", "5"), SG_KEY_ACCEPTED);
	assert_int_equal(
	    sg_keys_override(
	        k, "MeterValueSampleInterval",
	        (struct sg_key_limits){.narrow = true, .min = 10, .max = 86400, .def = "900"}),
	    0);
	/* CP1's stored 5 is outside the site's range: back to the (site's) default */
	assert_int_equal(sg_keys_get_int(k, "CP1", "MeterValueSampleInterval"), 900);
	assert_int_equal(sg_keys_get_int(k, "CP2", "MeterValueSampleInterval"), 900);
	assert_string_equal(published("CP2", "MeterValueSampleInterval")->value, "900");
	assert_int_equal(sg_keys_apply(k, "CP1", "MeterValueSampleInterval", "5"), SG_KEY_REJECTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "MeterValueSampleInterval", "10"),
	                 SG_KEY_ACCEPTED);

	/* lists: the site's meter measures four things, and at most 3 at a time */
	assert_int_equal(
	    sg_keys_override(k, "MeterValuesSampledData", (struct sg_key_limits){.members = four}),
	    0);
	assert_int_equal(sg_keys_override(k, "MeterValuesSampledDataMaxLength",
	                                  (struct sg_key_limits){.def = "3"}),
	                 0);
	assert_string_equal(published("CP1", "MeterValuesSampledDataMaxLength")->value, "3");
	assert_int_equal(sg_keys_apply(k, "CP1", "MeterValuesSampledData", "SoC"), SG_KEY_REJECTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "MeterValuesSampledData", four), SG_KEY_REJECTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "MeterValuesSampledData",
	                               "voltage, current.import,power.active.import"),
	                 SG_KEY_ACCEPTED);
	assert_string_equal(sg_keys_get(k, "CP1", "MeterValuesSampledData"),
	                    "Voltage,Current.Import,Power.Active.Import");
	assert_int_equal(sg_keys_apply(k, "CP1", "MeterValuesSampledData", ""), SG_KEY_ACCEPTED);

	/* refused overrides */
	assert_int_equal(sg_keys_override(k, "HeartbeatInterval", (struct sg_key_limits){0}),
	                 -ENOENT);
	assert_int_equal(sg_keys_override(k, "NoSuchKey", (struct sg_key_limits){0}), -ENOENT);
	assert_int_equal(sg_keys_override(k, "ClockAlignedDataInterval",
	                                  (struct sg_key_limits){.narrow = true, .max = 100000}),
	                 -EINVAL);

	/* after a restart the stored value is kept when it passes */
	k = start(f, "meter");
	assert_int_equal(sg_keys_get_int(k, "CP1", "MeterValueSampleInterval"), 10);
	assert_string_equal(sg_keys_get(k, "CP1", "MeterValuesSampledData"), "");
	assert_string_equal(sg_keys_get(k, "CP2", "MeterValuesSampledData"),
	                    "Energy.Active.Import.Register");
}

static void
opt_in_keys_wait_for_the_site(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "auth");
	size_t subs_before = n_subs;

	assert_int_equal(n_subs, served_by("auth"));
	assert_null(sg_keys_get(k, "CP1", "ISO15118PnCEnabled"));
	assert_int_equal(sg_keys_apply(k, "CP1", "ISO15118PnCEnabled", "true"),
	                 SG_KEY_NOT_SUPPORTED);
	assert_null(published("CP1", "ISO15118PnCEnabled"));

	assert_int_equal(
	    sg_keys_override(k, "ISO15118PnCEnabled", (struct sg_key_limits){.enable = true}), 0);
	assert_int_equal(n_subs, subs_before + 1);
	assert_string_equal(published("CP2", "ISO15118PnCEnabled")->value, "false");
	assert_int_equal(sg_keys_apply(k, "CP1", "ISO15118PnCEnabled", "true"), SG_KEY_ACCEPTED);
	assert_true(sg_keys_get_bool(k, "CP1", "ISO15118PnCEnabled"));
	assert_true(sg_keys_get_bool(k, "CP1", "StopTransactionOnInvalidId"));
}

static void
connectors_bound_the_phase_rotation(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k = start(f, "connector");

	assert_int_equal(sg_keys_get_int(k, "CP1", "NumberOfConnectors"), 2);
	assert_int_equal(sg_keys_get_int(k, "CP2", "NumberOfConnectors"), 1);
	assert_true(published("CP1", "NumberOfConnectors")->readonly);
	assert_int_equal(sg_keys_apply(k, "CP1", "ConnectorPhaseRotation", "0.RST,1.RST,2.RTS"),
	                 SG_KEY_ACCEPTED);
	assert_int_equal(sg_keys_apply(k, "CP2", "ConnectorPhaseRotation", "0.RST,1.RST,2.RTS"),
	                 SG_KEY_REJECTED);
	assert_int_equal(sg_keys_apply(k, "CP2", "ConnectorPhaseRotation", "1.TSR"),
	                 SG_KEY_ACCEPTED);
	assert_int_equal(sg_keys_apply(k, "CP1", "NumberOfConnectors", "3"), SG_KEY_REJECTED);
}

static void
a_service_database_can_hold_the_keys(void **state)
{
	struct fx *f = *state;
	const struct sg_store_migration migrations[] = {
	    {1, "CREATE TABLE other (x INTEGER);"},
	    {2, sg_keys_schema_sql},
	};
	char path[128];
	sqlite3 *db = NULL, *bare = NULL;
	struct sg_keys *k;

	snprintf(path, sizeof(path), "%s/auth/auth.db", f->dir);
	assert_int_equal(sg_store_open(path, SG_STORE_DURABLE, migrations, 2, &db), 0);
	f->svc.name = "auth";
	k = sg_keys_new(&f->svc, db);
	assert_non_null(k);
	assert_int_equal(sg_keys_apply(k, "CP1", "LocalAuthListEnabled", "true"), SG_KEY_ACCEPTED);
	sg_keys_free(k);
	k = sg_keys_new(&f->svc, db);
	assert_non_null(k);
	assert_true(sg_keys_get_bool(k, "CP1", "LocalAuthListEnabled"));
	sg_keys_free(k);
	sg_store_close(db);

	/* a database without the table is refused */
	snprintf(path, sizeof(path), "%s/auth/bare.db", f->dir);
	assert_int_equal(sg_store_open(path, SG_STORE_DURABLE, migrations, 1, &bare), 0);
	assert_null(sg_keys_new(&f->svc, bare));
	sg_store_close(bare);
	/* the keys are freed, the bus is replaced: start() must not free them again */
	sg_bus_free(f->svc.bus);
	f->svc.bus = new_bus();
}

static void
a_service_without_charge_points(void **state)
{
	struct fx *f = *state;
	struct sg_keys *k;

	f->svc.conf.n_cps = 0;
	k = start(f, "smartcharge");
	assert_int_equal(n_pubs, 0);
	assert_int_equal(n_subs, served_by("smartcharge"));
	assert_null(sg_keys_get(k, "CP1", "ChargeProfileMaxStackLevel"));
	assert_int_equal(sg_keys_apply(k, "CP1", "ChargeProfileMaxStackLevel", "3"),
	                 SG_KEY_NOT_SUPPORTED);
	sg_keys_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(defaults_are_published_and_subscribed, setup, teardown),
	    cmocka_unit_test_setup_teardown(accepted_values_persist, setup, teardown),
	    cmocka_unit_test_setup_teardown(reboot_keys_wait_for_the_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_changes_are_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(secrets_are_stored_but_never_shown, setup, teardown),
	    cmocka_unit_test_setup_teardown(changes_are_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(the_owner_may_veto, setup, teardown),
	    cmocka_unit_test_setup_teardown(the_bus_handler_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(sites_narrow_and_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(opt_in_keys_wait_for_the_site, setup, teardown),
	    cmocka_unit_test_setup_teardown(connectors_bound_the_phase_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_service_database_can_hold_the_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_service_without_charge_points, setup, teardown),
	};

	sg_log_init("test-keys", SG_LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
