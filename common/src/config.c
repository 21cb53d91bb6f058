/* The gateway's configuration. Every setting is a row in one of the tables
 * below; sg_conf_read_group() applies a table to a libconfig group (defaults,
 * types, ranges, lengths, choices, required and unknown settings), and
 * sg_config_load() adds the checks that span several settings. Errors are
 * returned, not logged: the caller decides how to report them. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sitegate/config.h"
#include "sitegate/ocpp_keys.h"

#define ARRAY_SIZE(a)           (sizeof(a) / sizeof((a)[0]))
#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)

/* Table rows; the rest of a row (.required, .secret) may follow the macro. */
#define CONF_INT(st, field, dflt, lo, hi, text)                                                    \
	.name = #field, .type = SG_CONF_INT, .offset = offsetof(st, field),                        \
	.size = FIELD_SIZE(st, field), .def = dflt, .min = lo, .max = hi, .doc = text
#define CONF_FLOAT(st, field, dflt, lo, hi, text)                                                  \
	.name = #field, .type = SG_CONF_FLOAT, .offset = offsetof(st, field),                      \
	.size = FIELD_SIZE(st, field), .def = dflt, .min = lo, .max = hi, .doc = text
#define CONF_STRING(st, field, dflt, text)                                                         \
	.name = #field, .type = SG_CONF_STRING, .offset = offsetof(st, field),                     \
	.size = FIELD_SIZE(st, field), .def = dflt, .doc = text
#define CONF_ENUM(st, field, dflt, list, text)                                                     \
	.name = #field, .type = SG_CONF_ENUM, .offset = offsetof(st, field),                       \
	.size = FIELD_SIZE(st, field), .def = dflt, .choices = list, .doc = text
#define CONF_BOOL(st, field, dflt, text)                                                           \
	.name = #field, .type = SG_CONF_BOOL, .offset = offsetof(st, field),                       \
	.size = FIELD_SIZE(st, field), .def = dflt, .doc = text

static const char *const log_levels[] = {"error", "warning", "notice", "info", "debug", NULL};
static const char *const drivers[] = {"sim", "gpiod", NULL};
static const char *const meters[] = {"sim", NULL};
static const char *const cables[] = {"socket", "fixed", NULL};

static const struct sg_conf_desc root_table[] = {
    {CONF_STRING(struct sg_config, state_dir, "/var/lib/sitegate",
                 "directory for the services' state (SQLite files), one subdirectory each")},
    {CONF_ENUM(struct sg_config, log_level, "info", log_levels,
               "most verbose priority written to stderr")},
};

static const struct sg_conf_desc broker_table[] = {
    {CONF_STRING(struct sg_broker_conf, host, "127.0.0.1",
                 "MQTT broker: host name, address, or unix socket path (starting with '/')")},
    {CONF_INT(struct sg_broker_conf, port, "1883", 0, 65535,
              "MQTT broker TCP port; 0 with a unix socket")},
    {CONF_STRING(struct sg_broker_conf, prefix, "sitegate",
                 "first level(s) of every bus topic; no '+', '#', leading or trailing '/'")},
    {CONF_STRING(struct sg_broker_conf, password_dir, "/etc/sitegate/bus",
                 "<dir>/<service> holds each service's bus password; \"\" = anonymous")},
    {CONF_INT(struct sg_broker_conf, keepalive_s, "30", 5, 600, "MQTT keepalive in seconds")},
};

static const struct sg_conf_desc site_table[] = {
    {CONF_STRING(struct sg_site_conf, name, "site", "name of the site, for displays and logs")},
    {CONF_FLOAT(struct sg_site_conf, grid_limit_a, "63.0", 0, 10000,
                "grid connection limit per phase in A")},
    {CONF_FLOAT(struct sg_site_conf, reserve_a, "0.0", 0, 10000,
                "current per phase in A kept free for other loads")},
    {CONF_FLOAT(struct sg_site_conf, nominal_voltage, "230.0", 100, 480,
                "nominal phase-to-neutral voltage in V")},
    {CONF_INT(struct sg_site_conf, phases, "3", 1, 3, "phases of the grid connection")},
};

static const struct sg_conf_desc csms_table[] = {
    {CONF_STRING(struct sg_csms_conf, url, "ws://127.0.0.1:9000/ocpp",
                 "Central System URL (ws:// or wss://); the charge point id is appended")},
    {CONF_STRING(struct sg_csms_conf, ca_file, "/etc/ssl/certs/ca-certificates.crt",
                 "CA certificates that verify a wss:// Central System")},
};

static const struct sg_conf_desc maintenance_table[] = {
    {CONF_STRING(struct sg_maintenance_conf, install_hook,
                 "/usr/local/libexec/sitegate/install-firmware",
                 "program run with the downloaded firmware file and the charge point id; exit "
                 "0 = Installed, else InstallationFailed")},
    {CONF_INT(struct sg_maintenance_conf, install_timeout_s, "900", 10, 86400,
              "the install hook is killed (InstallationFailed) after this many seconds")},
    {CONF_STRING(struct sg_maintenance_conf, download_dir, "",
                 "where firmware images are downloaded; \"\" = <state_dir>/maintenance/download")},
    {CONF_INT(struct sg_maintenance_conf, firmware_max_mb, "256", 1, 4096,
              "a larger firmware image fails the download")},
    {CONF_STRING(struct sg_maintenance_conf, log_dir, "/var/log/sitegate",
                 "log files GetDiagnostics collects (the tree below, by mtime); \"\" = none")},
    {CONF_INT(struct sg_maintenance_conf, diagnostics_max_kb, "10240", 64, 1048576,
              "size cap of the files in a diagnostics archive, before compression, KiB")},
    {CONF_INT(struct sg_maintenance_conf, transfer_timeout_s, "1800", 10, 86400,
              "one download or upload attempt fails after this many seconds")},
    {CONF_INT(struct sg_maintenance_conf, retries, "3", 0, 100,
              "retries of a download or upload when the Central System names none")},
    {CONF_INT(struct sg_maintenance_conf, retry_interval_s, "60", 1, 86400,
              "seconds between attempts when the Central System names no retryInterval")},
};

static const struct sg_conf_desc meter_table[] = {
    {CONF_INT(struct sg_meter_conf, stop_txn_max_values, "60", 4, 10000,
              "MeterValue objects kept per transaction for StopTransaction.transactionData "
              "(Transaction.Begin and .End included); more are thinned evenly")},
    {CONF_INT(struct sg_meter_conf, stop_txn_max_bytes, "32768", 1024, 1048576,
              "about this many bytes of JSON of them (the Central System's frame limit)")},
    {CONF_INT(struct sg_meter_conf, persist_interval_s, "10", 1, 3600,
              "a simulated meter's energy register is stored this often (and before any value "
              "leaves the service)")},
    {CONF_INT(struct sg_meter_conf, ack_timeout_s, "120", 5, 86400,
              "a transaction MeterValues the bridge did not acknowledge by then is sent again")},
    {CONF_INT(struct sg_meter_conf, outbox_limit, "1000", 10, 1000000,
              "transaction MeterValues waiting for the bridge; beyond, the oldest periodic one "
              "is dropped")},
};

static const struct sg_conf_desc key_override_table[] = {
    {CONF_STRING(struct sg_key_override_conf, key, NULL,
                 "the OCPP configuration key, e.g. MeterValueSampleInterval"),
     .required = true},
    {.name = "default",
     .type = SG_CONF_STRING,
     .offset = offsetof(struct sg_key_override_conf, def),
     .size = FIELD_SIZE(struct sg_key_override_conf, def),
     .def = "",
     .doc = "its default at this site (\"\": the key's own)"},
    {CONF_INT(struct sg_key_override_conf, min, "-2147483647", -2147483647, 2147483647,
              "integer keys: the lowest value the Central System may set (unset: the key's)")},
    {CONF_INT(struct sg_key_override_conf, max, "2147483647", -2147483647, 2147483647,
              "integer keys: the highest (unset: the key's)")},
    {CONF_STRING(struct sg_key_override_conf, members, "",
                 "list keys: the members allowed at this site, ',' between (\"\": all)")},
};

static const struct sg_conf_desc auth_table[] = {
    {CONF_INT(struct sg_auth_conf, cache_max_entries, "1000", 1, 1000000,
              "authorization cache entries per charge point; the least recently used go first")},
};

static const struct sg_conf_desc cp_table[] = {
    {CONF_STRING(struct sg_cp_conf, id, NULL,
                 "charge point identity: printable ASCII without space, '/', '+', '#'"),
     .required = true},
    {CONF_STRING(struct sg_cp_conf, csms_url, "", "own Central System URL; \"\" = csms.url")},
    {CONF_INT(struct sg_cp_conf, security_profile, "0", 0, 3,
              "OCPP security profile: 0 none, 1 basic auth, 2 TLS + basic auth, 3 TLS client "
              "certificate")},
    {CONF_STRING(struct sg_cp_conf, authorization_key, "",
                 "initial AuthorizationKey for profiles 1 and 2: 32..40 hex digits"),
     .secret = true},
    {CONF_STRING(struct sg_cp_conf, ca_file, "", "CA certificates; \"\" = csms.ca_file")},
    {CONF_STRING(struct sg_cp_conf, client_cert, "", "client certificate (profile 3)")},
    {CONF_STRING(struct sg_cp_conf, client_key, "", "client private key file (profile 3)")},
    {CONF_STRING(struct sg_cp_conf, vendor, "Sitegate", "BootNotification chargePointVendor")},
    {CONF_STRING(struct sg_cp_conf, model, "SG-SIM", "BootNotification chargePointModel")},
    {CONF_STRING(struct sg_cp_conf, serial_number, "", "BootNotification chargePointSerialNumber")},
    {CONF_STRING(struct sg_cp_conf, charge_box_serial_number, "",
                 "BootNotification chargeBoxSerialNumber")},
    {CONF_STRING(struct sg_cp_conf, firmware_version, "0.1.0", "BootNotification firmwareVersion")},
    {CONF_STRING(struct sg_cp_conf, iccid, "", "BootNotification iccid")},
    {CONF_STRING(struct sg_cp_conf, imsi, "", "BootNotification imsi")},
    {CONF_STRING(struct sg_cp_conf, meter_type, "", "BootNotification meterType")},
    {CONF_STRING(struct sg_cp_conf, meter_serial_number, "", "BootNotification meterSerialNumber")},
};

static const struct sg_conf_desc connector_table[] = {
    {CONF_INT(struct sg_connector_conf, id, "1", 1, SG_MAX_CONNECTORS,
              "OCPP connector id: the connectors of a charge point are 1..n in order")},
    {CONF_ENUM(struct sg_connector_conf, driver, "sim", drivers,
               "hardware driver: simulated, or GPIO lines through libgpiod")},
    {CONF_ENUM(struct sg_connector_conf, meter, "sim", meters, "energy meter")},
    {CONF_ENUM(struct sg_connector_conf, cable, "socket", cables,
               "socket (the car brings the cable) or fixed cable")},
    {CONF_FLOAT(struct sg_connector_conf, max_current_a, "32.0", 6, 80,
                "rated current per phase in A")},
    {CONF_INT(struct sg_connector_conf, phases, "3", 1, 3, "phases wired to the connector")},
};

/* connectors.[].gpio: the lines of a connector with driver "gpiod", by name. */
static const struct sg_conf_desc gpio_table[] = {
    {CONF_STRING(struct sg_gpio_conf, chip, "gpiochip0",
                 "GPIO chip: name, number, path or label (gpiod_chip_open_lookup)")},
    {CONF_STRING(struct sg_gpio_conf, contactor, "",
                 "output line closing the power contactor; required with driver gpiod")},
    {CONF_STRING(struct sg_gpio_conf, contactor_feedback, "",
                 "input line of the contactor's auxiliary contact; \"\" = none")},
    {CONF_STRING(struct sg_gpio_conf, lock, "",
                 "output line engaging the cable lock; \"\" = none")},
    {CONF_STRING(struct sg_gpio_conf, lock_feedback, "",
                 "input line reporting the lock engaged; \"\" = none")},
    {CONF_STRING(struct sg_gpio_conf, plug, "",
                 "input line: an EV is connected (pilot state B, C or D); required with driver "
                 "gpiod")},
    {CONF_STRING(struct sg_gpio_conf, ev_charge, "",
                 "input line: the EV requests energy (pilot state C or D); \"\" = always")},
    {CONF_STRING(struct sg_gpio_conf, pilot_error, "",
                 "input line: pilot error (state E or F); \"\" = none")},
    {CONF_STRING(struct sg_gpio_conf, cable, "",
                 "input line: a cable is in the socket (proximity); \"\" = follow plug")},
    {CONF_STRING(struct sg_gpio_conf, led, "", "output line of the status light; \"\" = none")},
    {CONF_BOOL(struct sg_gpio_conf, active_low, "false",
               "every line of the connector is active low")},
    {CONF_INT(struct sg_gpio_conf, feedback_timeout_ms, "200", 10, 5000,
              "a feedback input must follow its output within this many ms, else "
              "PowerSwitchFailure or ConnectorLockFailure")},
};

const struct sg_conf_group sg_conf_groups[] = {
    {"", root_table, ARRAY_SIZE(root_table)},
    {"broker", broker_table, ARRAY_SIZE(broker_table)},
    {"site", site_table, ARRAY_SIZE(site_table)},
    {"csms", csms_table, ARRAY_SIZE(csms_table)},
    {"maintenance", maintenance_table, ARRAY_SIZE(maintenance_table)},
    {"auth", auth_table, ARRAY_SIZE(auth_table)},
    {"meter", meter_table, ARRAY_SIZE(meter_table)},
    {"ocpp_keys.[]", key_override_table, ARRAY_SIZE(key_override_table)},
    {"charge_points.[]", cp_table, ARRAY_SIZE(cp_table)},
    {"charge_points.[].connectors.[]", connector_table, ARRAY_SIZE(connector_table)},
    {"charge_points.[].connectors.[].gpio", gpio_table, ARRAY_SIZE(gpio_table)},
};
const size_t sg_conf_n_groups = ARRAY_SIZE(sg_conf_groups);

/* Aggregates read by sg_config_load() itself, next to a table's settings. */
static const char *const root_aggregates[] = {
    "broker", "site", "csms", "charge_points", "maintenance", "auth", "meter", "ocpp_keys", NULL};
static const char *const cp_aggregates[] = {"connectors", NULL};
static const char *const connector_aggregates[] = {"gpio", NULL};

/* An integer literal that libconfig 1.5 accepted but wrapped: it parses a
 * decimal literal with atoi() and a hex one with strtoul(), so "port =
 * 4294968179" would silently read as 883. */
struct wrapped_literal {
	const char *file; /* owned by the config_t */
	int line;
	int value; /* what libconfig stored */
	char text[32];
	bool used;
};

struct reader {
	const char *file; /* for settings without a source file */
	struct sg_conf_error *err;
	struct wrapped_literal *lits;
	size_t n_lits;
};

/* ------------------------------------------------------------------------ */
/* Errors */

static int __attribute__((format(printf, 6, 0)))
vfail(struct sg_conf_error *err, const char *file, int line, const char *path, const char *name,
      const char *fmt, va_list ap)
{
	if (err == NULL)
		return -EINVAL;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	err->line = line;
	if (name == NULL)
		snprintf(err->setting, sizeof(err->setting), "%s", path ? path : "");
	else if (path == NULL || *path == '\0')
		snprintf(err->setting, sizeof(err->setting), "%s", name);
	else
		snprintf(err->setting, sizeof(err->setting), "%s.%s", path, name);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	return -EINVAL;
}

/* Fills err (setting "path.name", or path when name is NULL); returns -EINVAL. */
static int __attribute__((format(printf, 6, 7)))
fail(struct sg_conf_error *err, const char *file, int line, const char *path, const char *name,
     const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(err, file, line, path, name, fmt, ap);
	va_end(ap);
	return rc;
}

void
sg_conf_error_format(const struct sg_conf_error *err, char *buf, size_t len)
{
	char where[300] = "";

	if (buf == NULL || len == 0)
		return;
	if (err->file[0] != '\0' && err->line > 0)
		snprintf(where, sizeof(where), "%s:%d: ", err->file, err->line);
	else if (err->file[0] != '\0')
		snprintf(where, sizeof(where), "%s: ", err->file);
	snprintf(buf, len, "%s%s%s%s", where, err->setting, err->setting[0] ? ": " : "", err->text);
}

/* A user string made safe to quote in a message: printable ASCII, shortened. */
static const char *
printable(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	assert(len >= 4);
	for (; *s != '\0' && i + 4 < len; s++)
		buf[i++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

static const char *
type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

static const char *
src_file(const config_setting_t *s, const char *file)
{
	const char *f = s ? config_setting_source_file(s) : NULL;

	return f ? f : file;
}

static int
src_line(const config_setting_t *s)
{
	return s ? (int)config_setting_source_line(s) : 0;
}

/* An error about member name of group (path), located at that member, or at
 * the group when the member is absent. */
static int __attribute__((format(printf, 5, 6)))
fail_member(const struct reader *r, const config_setting_t *group, const char *path,
            const char *name, const char *fmt, ...)
{
	const config_setting_t *m = group ? config_setting_get_member(group, name) : NULL;
	const config_setting_t *at = m ? m : group;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(r->err, src_file(at, r->file), src_line(at), path, name, fmt, ap);
	va_end(ap);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Reading a group against a table */

static const struct sg_conf_desc *
find_desc(const struct sg_conf_desc *table, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

static bool
in_list(const char *const *list, const char *name)
{
	for (; list && *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

static void
apply_default(const struct sg_conf_desc *d, void *out)
{
	char *dst = (char *)out + d->offset;

	switch (d->type) {
	case SG_CONF_INT: {
		int v = d->def ? (int)strtol(d->def, NULL, 10) : 0;

		memcpy(dst, &v, sizeof(v));
		break;
	}
	case SG_CONF_FLOAT: {
		double v = d->def ? strtod(d->def, NULL) : 0.0;

		memcpy(dst, &v, sizeof(v));
		break;
	}
	case SG_CONF_BOOL: {
		bool v = d->def && strcmp(d->def, "true") == 0;

		memcpy(dst, &v, sizeof(v));
		break;
	}
	case SG_CONF_STRING:
	case SG_CONF_ENUM:
		snprintf(dst, d->size, "%s", d->def ? d->def : "");
		break;
	}
}

static void
format_range(const struct sg_conf_desc *d, char *buf, size_t len)
{
	if (d->type == SG_CONF_INT)
		snprintf(buf, len, "%.0f..%.0f", d->min, d->max);
	else
		snprintf(buf, len, "%g..%g", d->min, d->max);
}

/* The literal libconfig wrapped for setting s, if any. */
static struct wrapped_literal *
wrapped_for(const struct reader *r, const config_setting_t *s)
{
	const char *f = config_setting_source_file(s);

	if (config_setting_type(s) != CONFIG_TYPE_INT || f == NULL)
		return NULL;
	for (size_t i = 0; i < r->n_lits; i++) {
		struct wrapped_literal *w = &r->lits[i];

		if (w->line == src_line(s) && w->value == config_setting_get_int(s) &&
		    strcmp(w->file, f) == 0)
			return w;
	}
	return NULL;
}

static int
read_number(const struct reader *r, const config_setting_t *s, const struct sg_conf_desc *d,
            const char *path, void *dst)
{
	const char *file = src_file(s, r->file);
	struct wrapped_literal *w = wrapped_for(r, s);
	int type = config_setting_type(s);
	char range[64];
	double v;
	int v_int;

	format_range(d, range, sizeof(range));
	if (w != NULL) {
		w->used = true;
		return fail(r->err, file, src_line(s), path, d->name, "%s is out of range %s",
		            w->text, range);
	}
	if (d->type == SG_CONF_INT) {
		long long i;

		if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
			return fail(r->err, file, src_line(s), path, d->name,
			            "expected an integer, got %s", type_name(type));
		i = config_setting_get_int64(s);
		if (i < INT_MIN || i > INT_MAX || (double)i < d->min || (double)i > d->max)
			return fail(r->err, file, src_line(s), path, d->name,
			            "%lld is out of range %s", i, range);
		v_int = (int)i;
		memcpy(dst, &v_int, sizeof(v_int));
		return 0;
	}

	if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)
		v = (double)config_setting_get_int64(s);
	else if (type == CONFIG_TYPE_FLOAT)
		v = config_setting_get_float(s);
	else
		return fail(r->err, file, src_line(s), path, d->name, "expected a number, got %s",
		            type_name(type));
	if (!(v >= d->min && v <= d->max)) /* also catches inf and nan */
		return fail(r->err, file, src_line(s), path, d->name, "%g is out of range %s", v,
		            range);
	memcpy(dst, &v, sizeof(v));
	return 0;
}

static int
read_string(const struct reader *r, const config_setting_t *s, const struct sg_conf_desc *d,
            const char *path, char *dst)
{
	const char *file = src_file(s, r->file);
	int type = config_setting_type(s);
	const char *v;
	size_t len;

	if (type != CONFIG_TYPE_STRING)
		return fail(r->err, file, src_line(s), path, d->name, "expected a string, got %s",
		            type_name(type));
	v = config_setting_get_string(s);
	len = strlen(v);
	if (len >= d->size)
		return fail(r->err, file, src_line(s), path, d->name,
		            "too long (%zu characters, at most %zu)", len, d->size - 1);
	if (d->type == SG_CONF_ENUM && !in_list(d->choices, v)) {
		char choices[128] = "", quoted[64];
		size_t off = 0;

		for (const char *const *c = d->choices; c && *c && off < sizeof(choices); c++)
			off += (size_t)snprintf(choices + off, sizeof(choices) - off, "%s%s",
			                        off ? ", " : "", *c);
		return fail(r->err, file, src_line(s), path, d->name, "\"%s\" is not one of: %s",
		            printable(v, quoted, sizeof(quoted)), choices);
	}
	memcpy(dst, v, len + 1);
	return 0;
}

static int
read_value(const struct reader *r, const config_setting_t *s, const struct sg_conf_desc *d,
           const char *path, void *out)
{
	char *dst = (char *)out + d->offset;
	int type = config_setting_type(s);

	switch (d->type) {
	case SG_CONF_INT:
		assert(d->size == sizeof(int));
		return read_number(r, s, d, path, dst);
	case SG_CONF_FLOAT:
		assert(d->size == sizeof(double));
		return read_number(r, s, d, path, dst);
	case SG_CONF_BOOL:
		assert(d->size == sizeof(bool));
		if (type != CONFIG_TYPE_BOOL)
			return fail(r->err, src_file(s, r->file), src_line(s), path, d->name,
			            "expected a boolean (true or false), got %s", type_name(type));
		{
			bool v = config_setting_get_bool(s) != 0;

			memcpy(dst, &v, sizeof(v));
		}
		return 0;
	case SG_CONF_STRING:
	case SG_CONF_ENUM:
		return read_string(r, s, d, path, dst);
	}
	return -EINVAL;
}

/* Reads group (NULL: all defaults) into out. Members named in aggregates are
 * left to the caller. Errors come in file order: each member in turn, then
 * the missing required settings. */
static int
read_group(const struct reader *r, const config_setting_t *group, const char *path,
           const struct sg_conf_desc *table, size_t n, void *out, const char *const *aggregates)
{
	int count = group ? config_setting_length(group) : 0;
	int rc;

	if (group != NULL && !config_setting_is_group(group))
		return fail(r->err, src_file(group, r->file), src_line(group), path, NULL,
		            "expected a group { ... }, got %s",
		            type_name(config_setting_type(group)));

	for (size_t i = 0; i < n; i++)
		apply_default(&table[i], out);

	for (int i = 0; i < count; i++) {
		const config_setting_t *m = config_setting_get_elem(group, (unsigned int)i);
		const char *name = config_setting_name(m);
		const struct sg_conf_desc *d = find_desc(table, n, name);

		if (d != NULL) {
			rc = read_value(r, m, d, path, out);
			if (rc < 0)
				return rc;
		} else if (!in_list(aggregates, name)) {
			return fail(r->err, src_file(m, r->file), src_line(m), path, name,
			            "unknown setting");
		}
	}

	for (size_t i = 0; i < n; i++) {
		if (table[i].required &&
		    (group == NULL || config_setting_get_member(group, table[i].name) == NULL))
			return fail(r->err, src_file(group, r->file), src_line(group), path,
			            table[i].name, "missing required setting");
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Integer literals libconfig 1.5 wraps silently */

static bool
is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '*';
}

/* Records tok if it is a decimal or hex integer literal (no L suffix) that does
 * not fit libconfig's int, with the value libconfig made of it. */
static int
check_literal(struct reader *r, const char *file, int line, const char *tok, size_t len)
{
	char buf[64];
	bool hex = len > 2 && tok[0] == '0' && (tok[1] == 'x' || tok[1] == 'X');
	size_t start = hex ? 2 : (tok[0] == '-' || tok[0] == '+');
	bool overflow;
	struct wrapped_literal *w;
	int value;

	if (len <= start)
		return 0;
	for (size_t i = start; i < len; i++)
		if (hex ? !isxdigit((unsigned char)tok[i]) : !isdigit((unsigned char)tok[i]))
			return 0;

	snprintf(buf, sizeof(buf), "%.*s", (int)len, tok);
	errno = 0;
	if (hex) {
		unsigned long long v = strtoull(buf, NULL, 16);

		overflow = len >= sizeof(buf) || errno == ERANGE || v > UINT32_MAX;
		value = (int)strtoul(buf, NULL, 16);
	} else {
		long long v = strtoll(buf, NULL, 10);

		overflow = len >= sizeof(buf) || errno == ERANGE || v < INT_MIN || v > INT_MAX;
		value = (int)strtol(buf, NULL, 10);
	}
	if (!overflow)
		return 0;

	w = realloc(r->lits, (r->n_lits + 1) * sizeof(*w));
	if (w == NULL)
		return -ENOMEM;
	r->lits = w;
	w = &r->lits[r->n_lits++];
	*w = (struct wrapped_literal){.file = file, .line = line, .value = value};
	if (len < sizeof(w->text)) {
		memcpy(w->text, tok, len);
		w->text[len] = '\0';
	} else {
		memcpy(w->text, tok, 24);
		memcpy(w->text + 24, "...", 4);
	}
	return 0;
}

/* A small scanner for libconfig's lexical syntax: comments, strings, names
 * and number tokens. */
static int
scan_literals(struct reader *r, const char *file, const char *p)
{
	int line = 1, rc;

	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
				line += *p == '\n';
			p += *p ? 2 : 0;
		} else if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				line += *p == '\n';
			}
			p += *p ? 1 : 0;
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			while (is_name_char(*p))
				p++;
		} else if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '+' || *p == '.') &&
		                                          isdigit((unsigned char)p[1]))) {
			const char *tok = p++;

			while (isalnum((unsigned char)*p) || *p == '.' ||
			       ((*p == '-' || *p == '+') && (p[-1] == 'e' || p[-1] == 'E')))
				p++;
			rc = check_literal(r, file, line, tok, (size_t)(p - tok));
			if (rc < 0)
				return rc;
		} else {
			p++;
		}
	}
	return 0;
}

static char *
read_whole_file(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, got;

	if (fp == NULL)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			nbuf = realloc(buf, cap + 1);
			if (nbuf == NULL) {
				free(buf);
				fclose(fp);
				errno = ENOMEM;
				return NULL;
			}
			buf = nbuf;
		}
		got = fread(buf + len, 1, cap - len, fp);
		len += got;
	} while (got > 0);
	if (buf != NULL)
		buf[len] = '\0';
	fclose(fp);
	return buf;
}

/* libconfig 1.5 records an @include file name as written, but opened it
 * relative to the include directory: the path to open or to show. */
static void
source_path(const config_t *lc, const char *main_path, const char *file, char *buf, size_t len)
{
	const char *dir = config_get_include_dir(lc);

	if (file[0] == '/' || dir == NULL || strcmp(file, main_path) == 0)
		snprintf(buf, len, "%s", file);
	else
		snprintf(buf, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", file);
}

/* Scans every file libconfig read (the main file and its @includes). */
static int
find_wrapped_literals(struct reader *r, const config_t *lc)
{
	for (unsigned int i = 0; i < lc->num_filenames; i++) {
		char path[PATH_MAX];
		char *text;
		int rc;

		source_path(lc, lc->filenames[0], lc->filenames[i], path, sizeof(path));
		text = read_whole_file(path);
		if (text == NULL)
			return errno > 0 ? -errno : -EIO; /* it was readable a moment ago */
		rc = scan_literals(r, lc->filenames[i], text);
		free(text);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Error locations of @included files as paths a user can open. */
static void
resolve_error_file(const config_t *lc, struct sg_conf_error *err)
{
	char file[sizeof(err->file)];

	if (err == NULL || err->file[0] == '\0' || lc->num_filenames == 0)
		return;
	source_path(lc, lc->filenames[0], err->file, file, sizeof(file));
	memcpy(err->file, file, sizeof(file));
}

int
sg_conf_read_group(const config_setting_t *group, const char *path,
                   const struct sg_conf_desc *table, size_t n, void *out, const char *file,
                   struct sg_conf_error *err)
{
	struct reader r = {.file = file, .err = err};
	int rc;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	/* Best effort: the file may have changed or gone since it was parsed. */
	if (group != NULL && find_wrapped_literals(&r, group->config) == -ENOMEM) {
		rc = -ENOMEM;
		goto out;
	}
	rc = read_group(&r, group, path, table, n, out, NULL);
	if (rc < 0 && group != NULL)
		resolve_error_file(group->config, err);
out:
	free(r.lits);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Cross-field checks */

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "" or ws://... / wss://... with something after the scheme. */
static bool
valid_ws_url(const char *url)
{
	if (*url == '\0')
		return true;
	if (starts_with(url, "ws://"))
		return url[5] != '\0';
	if (starts_with(url, "wss://"))
		return url[6] != '\0';
	return false;
}

static bool
valid_hex_key(const char *key)
{
	size_t len = strlen(key);

	if (len == 0)
		return true;
	if (len < 32 || len > 40 || len % 2 != 0)
		return false;
	for (; *key; key++)
		if (!isxdigit((unsigned char)*key))
			return false;
	return true;
}

static int
check_globals(const struct reader *r, const struct sg_config *conf, const config_setting_t *root)
{
	const config_setting_t *broker = config_setting_get_member(root, "broker");
	const config_setting_t *csms = config_setting_get_member(root, "csms");
	const struct sg_broker_conf *b = &conf->broker;
	size_t plen = strlen(b->prefix);

	if (conf->state_dir[0] == '\0')
		return fail_member(r, root, "", "state_dir", "must not be empty");
	if (b->host[0] == '\0')
		return fail_member(r, broker, "broker", "host", "must not be empty");
	if (b->port == 0 && b->host[0] != '/')
		return fail_member(
		    r, broker, "broker", "port",
		    "0 is only allowed with a unix socket host (a path starting with '/')");
	if (b->port != 0 && b->host[0] == '/')
		return fail_member(r, broker, "broker", "port",
		                   "must be 0 with a unix socket host");
	if (plen == 0)
		return fail_member(r, broker, "broker", "prefix", "must not be empty");
	if (strpbrk(b->prefix, "+#") != NULL)
		return fail_member(r, broker, "broker", "prefix",
		                   "must not contain the MQTT wildcards '+' or '#'");
	if (b->prefix[0] == '/' || b->prefix[plen - 1] == '/')
		return fail_member(r, broker, "broker", "prefix", "must not start or end with '/'");
	if (!valid_ws_url(conf->csms.url))
		return fail_member(r, csms, "csms", "url", "must start with ws:// or wss://");
	return 0;
}

static int
check_cp(const struct reader *r, const struct sg_config *conf, const struct sg_cp_conf *cp,
         const config_setting_t *g, const char *path)
{
	const char *url = cp->csms_url[0] ? cp->csms_url : conf->csms.url;
	const char *url_name = cp->csms_url[0] ? "csms_url" : "csms.url";

	if (cp->id[0] == '\0')
		return fail_member(r, g, path, "id", "must not be empty");
	for (const char *c = cp->id; *c; c++) {
		if (*c <= ' ' || *c >= 0x7f || *c == '/' || *c == '+' || *c == '#') {
			char quoted[72];

			return fail_member(
			    r, g, path, "id",
			    "\"%s\": character %d is not allowed (printable ASCII without "
			    "space, '/', '+', '#')",
			    printable(cp->id, quoted, sizeof(quoted)), (int)(c - cp->id) + 1);
		}
	}
	if (!valid_ws_url(cp->csms_url))
		return fail_member(r, g, path, "csms_url",
		                   "must be empty (csms.url) or start with ws:// or wss://");
	if (url[0] == '\0')
		return fail_member(r, g, path, "csms_url", "must be set because csms.url is empty");
	if (cp->security_profile >= 2 && !starts_with(url, "wss://"))
		return fail_member(r, g, path, "security_profile",
		                   "security profile %d requires a wss:// URL, but %s is ws://",
		                   cp->security_profile, url_name);
	if (cp->security_profile == 3 && cp->client_cert[0] == '\0')
		return fail_member(r, g, path, "client_cert", "required with security profile 3");
	if (cp->security_profile == 3 && cp->client_key[0] == '\0')
		return fail_member(r, g, path, "client_key", "required with security profile 3");
	/* Never quote the key itself. */
	if (!valid_hex_key(cp->authorization_key))
		return fail_member(r, g, path, "authorization_key",
		                   "must be empty or 32 to 40 hex digits (an even number)");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Loading */

/* Reads an optional group of the root against table. */
static int
read_section(const struct reader *r, const config_setting_t *root, const char *name,
             const struct sg_conf_desc *table, size_t n, void *out)
{
	return read_group(r, config_setting_get_member(root, name), name, table, n, out, NULL);
}

/* Checks that s is a list of 1..max groups; what names the elements in errors. */
static int
check_list(const struct reader *r, const config_setting_t *parent, const config_setting_t *s,
           const char *path, const char *name, int max, const char *what)
{
	const char *file = src_file(parent, r->file);
	int n;

	if (s == NULL)
		return fail(r->err, file, src_line(parent), path, name, "missing required setting");
	file = src_file(s, r->file);
	if (!config_setting_is_list(s))
		return fail(r->err, file, src_line(s), path, name,
		            "expected a list ( { ... }, ... ), got %s",
		            type_name(config_setting_type(s)));
	n = config_setting_length(s);
	if (n == 0)
		return fail(r->err, file, src_line(s), path, name, "at least one %s is required",
		            what);
	if (n > max)
		return fail(r->err, file, src_line(s), path, name, "%d %ss, at most %d allowed", n,
		            what, max);
	return n;
}

/* The optional gpio group of connector c (group e at path): how its lines fit
 * together is checked only when the driver is gpiod. */
static int
read_gpio(const struct reader *r, struct sg_connector_conf *c, const config_setting_t *e,
          const char *path)
{
	const config_setting_t *g = config_setting_get_member(e, "gpio");
	const struct sg_gpio_conf *io = &c->gpio;
	char gpath[160];
	int rc;

	snprintf(gpath, sizeof(gpath), "%s.gpio", path);
	rc = read_group(r, g, gpath, gpio_table, ARRAY_SIZE(gpio_table), &c->gpio, NULL);
	/* Which lines the driver needs is checked by sitegate-connector when it
	 * opens them (exit 78, naming the setting). */
	if (rc < 0 || g == NULL || strcmp(c->driver, "gpiod") != 0)
		return rc;
	if (io->lock_feedback[0] != '\0' && io->lock[0] == '\0')
		return fail_member(r, g, gpath, "lock_feedback", "needs a lock line");
	if (io->lock[0] != '\0' && strcmp(c->cable, "fixed") == 0)
		return fail_member(r, g, gpath, "lock",
		                   "a fixed cable has no lock (cable = \"fixed\")");
	return 0;
}

static int
read_connectors(const struct reader *r, struct sg_cp_conf *cp, const config_setting_t *g,
                const char *cp_path)
{
	const config_setting_t *list = config_setting_get_member(g, "connectors");
	char path[128];
	int n;

	n = check_list(r, g, list, cp_path, "connectors", SG_MAX_CONNECTORS, "connector");
	if (n < 0)
		return n;
	for (int j = 0; j < n; j++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned int)j);
		struct sg_connector_conf *c = &cp->connectors[j];
		int rc;

		snprintf(path, sizeof(path), "%s.connectors.[%d]", cp_path, j);
		rc = read_group(r, e, path, connector_table, ARRAY_SIZE(connector_table), c,
		                connector_aggregates);
		if (rc < 0)
			return rc;
		rc = read_gpio(r, c, e, path);
		if (rc < 0)
			return rc;
		if (c->id != j + 1)
			return fail_member(r, e, path, "id",
			                   "is %d, expected %d: connector ids are 1..n in order",
			                   c->id, j + 1);
	}
	cp->n_connectors = n;
	return 0;
}

/* The optional ocpp_keys list: every entry names a key of the table, and its
 * limits must fit the key (checked here, so that a typo stops every service
 * before its loop starts, with file, line and setting). */
static int
read_key_overrides(const struct reader *r, struct sg_config *conf, const config_setting_t *root)
{
	const config_setting_t *list = config_setting_get_member(root, "ocpp_keys");
	char path[64], why[256];
	int n;

	if (list == NULL)
		return 0;
	n = check_list(r, root, list, "", "ocpp_keys", SG_MAX_KEY_OVERRIDES, "key");
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned int)i);
		struct sg_key_override_conf *o = &conf->key_overrides[i];
		snprintf(path, sizeof(path), "ocpp_keys.[%d]", i);
		int rc = read_group(r, e, path, key_override_table, ARRAY_SIZE(key_override_table),
		                    o, NULL);
		if (rc < 0)
			return rc;
		const struct sg_key_def *d = sg_key_find(o->key);
		if (d == NULL)
			return fail_member(r, e, path, "key", "\"%s\" is no OCPP configuration key",
			                   o->key);
		snprintf(o->key, sizeof(o->key), "%s", d->name); /* the table's spelling */
		struct sg_key_limits l = sg_key_override_limits(o, d);
		if (sg_key_limits_check(d, &l, why, sizeof(why)) < 0)
			return fail_member(r, e, path, "key", "%s: %s", d->name, why);
		for (int k = 0; k < i; k++)
			if (strcmp(conf->key_overrides[k].key, o->key) == 0)
				return fail_member(r, e, path, "key", "%s is narrowed twice",
				                   o->key);
	}
	conf->n_key_overrides = n;
	return 0;
}

static int
read_charge_points(const struct reader *r, struct sg_config *conf, const config_setting_t *root)
{
	const config_setting_t *list = config_setting_get_member(root, "charge_points");
	char path[64];
	int n;

	n = check_list(r, root, list, "", "charge_points", SG_MAX_CHARGE_POINTS, "charge point");
	if (n < 0)
		return n;
	conf->cps = calloc((size_t)n, sizeof(*conf->cps));
	if (conf->cps == NULL)
		return -ENOMEM;
	conf->n_cps = n;

	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(list, (unsigned int)i);
		struct sg_cp_conf *cp = &conf->cps[i];
		int rc;

		snprintf(path, sizeof(path), "charge_points.[%d]", i);
		rc = read_group(r, e, path, cp_table, ARRAY_SIZE(cp_table), cp, cp_aggregates);
		if (rc < 0)
			return rc;
		rc = read_connectors(r, cp, e, path);
		if (rc < 0)
			return rc;
		rc = check_cp(r, conf, cp, e, path);
		if (rc < 0)
			return rc;
		for (int k = 0; k < i; k++) {
			char quoted[72];

			if (strcmp(conf->cps[k].id, cp->id) != 0)
				continue;
			return fail_member(r, e, path, "id",
			                   "duplicate id \"%s\" (also charge_points.[%d])",
			                   printable(cp->id, quoted, sizeof(quoted)), k);
		}
	}
	return 0;
}

static int
validate(struct reader *r, struct sg_config *conf)
{
	const config_setting_t *root = config_root_setting(&conf->lc);
	int rc;

	rc = find_wrapped_literals(r, &conf->lc);
	if (rc < 0)
		return rc;
	rc = read_group(r, root, "", root_table, ARRAY_SIZE(root_table), conf, root_aggregates);
	if (rc < 0)
		return rc;
	rc = read_section(r, root, "broker", broker_table, ARRAY_SIZE(broker_table), &conf->broker);
	if (rc < 0)
		return rc;
	rc = read_section(r, root, "site", site_table, ARRAY_SIZE(site_table), &conf->site);
	if (rc < 0)
		return rc;
	rc = read_section(r, root, "csms", csms_table, ARRAY_SIZE(csms_table), &conf->csms);
	if (rc < 0)
		return rc;
	rc = read_section(r, root, "maintenance", maintenance_table, ARRAY_SIZE(maintenance_table),
	                  &conf->maintenance);
	if (rc < 0)
		return rc;
	rc = read_section(r, root, "auth", auth_table, ARRAY_SIZE(auth_table), &conf->auth);
	if (rc < 0)
		return rc;
	rc = read_section(r, root, "meter", meter_table, ARRAY_SIZE(meter_table), &conf->meter);
	if (rc < 0)
		return rc;
	rc = check_globals(r, conf, root);
	if (rc < 0)
		return rc;
	rc = read_key_overrides(r, conf, root);
	if (rc < 0)
		return rc;
	rc = read_charge_points(r, conf, root);
	if (rc < 0)
		return rc;
	/* Every value goes through a table, so this is only a safety net. */
	for (size_t i = 0; i < r->n_lits; i++)
		if (!r->lits[i].used)
			return fail(r->err, r->lits[i].file, r->lits[i].line, "", NULL,
			            "integer %s is out of range", r->lits[i].text);
	return 0;
}

/* libconfig resolves @include relative to the including file's directory. */
static void
set_include_dir(config_t *lc, const char *path)
{
	char dir[sizeof(((struct sg_config *)0)->path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return; /* the working directory, libconfig's default */
	if (slash == dir)
		slash++; /* a file in "/" */
	*slash = '\0';
	config_set_include_dir(lc, dir);
}

int
sg_config_load(const char *path, struct sg_config *conf, struct sg_conf_error *err)
{
	struct sg_conf_error scratch = {0};
	struct reader r = {.file = path, .err = err ? err : &scratch};
	int rc;

	assert(path != NULL && conf != NULL);
	memset(r.err, 0, sizeof(*r.err));
	memset(conf, 0, sizeof(*conf));
	config_init(&conf->lc);

	if (strlen(path) >= sizeof(conf->path)) {
		rc = fail(r.err, path, 0, "", NULL, "path too long");
		goto fail;
	}
	snprintf(conf->path, sizeof(conf->path), "%s", path);
	set_include_dir(&conf->lc, path);

	errno = 0;
	if (!config_read_file(&conf->lc, path)) {
		int e = errno;

		if (config_error_type(&conf->lc) == CONFIG_ERR_FILE_IO) {
			e = e > 0 ? e : EIO;
			fail(r.err, path, 0, "", NULL, "%s", strerror(e));
			rc = -e;
		} else {
			const char *f = config_error_file(&conf->lc);

			rc = fail(r.err, f ? f : path, config_error_line(&conf->lc), "", NULL, "%s",
			          config_error_text(&conf->lc));
		}
		goto fail;
	}

	rc = validate(&r, conf);
	if (rc < 0 && rc != -EINVAL)
		fail(r.err, path, 0, "", NULL, "%s", strerror(-rc));
	if (rc < 0)
		goto fail;
	free(r.lits);
	return 0;

fail:
	resolve_error_file(&conf->lc, r.err);
	free(r.lits);
	sg_config_free(conf);
	return rc;
}

void
sg_config_free(struct sg_config *conf)
{
	if (conf == NULL)
		return;
	free(conf->cps);
	config_destroy(&conf->lc);
	memset(conf, 0, sizeof(*conf));
}

const struct sg_cp_conf *
sg_config_cp(const struct sg_config *conf, const char *id)
{
	if (conf == NULL || id == NULL)
		return NULL;
	for (int i = 0; i < conf->n_cps; i++)
		if (strcmp(conf->cps[i].id, id) == 0)
			return &conf->cps[i];
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Dump */

static void
dump_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* The shortest of %.15g / %.17g that reads back exactly, always with a '.' or
 * an exponent so that libconfig sees a float. */
static void
dump_float(FILE *out, double v)
{
	char buf[40];

	snprintf(buf, sizeof(buf), "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, sizeof(buf), "%.17g", v);
	if (strpbrk(buf, ".eEn") == NULL)
		strcat(buf, ".0");
	fputs(buf, out);
}

static void
dump_table(FILE *out, const struct sg_conf_desc *table, size_t n, const void *base, int depth)
{
	for (size_t i = 0; i < n; i++) {
		const struct sg_conf_desc *d = &table[i];
		const char *p = (const char *)base + d->offset;
		int iv;
		double fv;
		bool bv;

		fprintf(out, "%.*s%s = ", depth, "\t\t\t\t\t\t\t\t", d->name);
		switch (d->type) {
		case SG_CONF_INT:
			memcpy(&iv, p, sizeof(iv));
			fprintf(out, "%d", iv);
			break;
		case SG_CONF_FLOAT:
			memcpy(&fv, p, sizeof(fv));
			dump_float(out, fv);
			break;
		case SG_CONF_BOOL:
			memcpy(&bv, p, sizeof(bv));
			fputs(bv ? "true" : "false", out);
			break;
		case SG_CONF_STRING:
		case SG_CONF_ENUM:
			if (d->secret)
				fputs(*p ? "\"(set)\"" : "\"\"", out);
			else
				dump_string(out, p);
			break;
		}
		fputs(";\n", out);
	}
}

static void
dump_section(FILE *out, const char *name, const struct sg_conf_desc *table, size_t n,
             const void *base)
{
	fprintf(out, "%s = {\n", name);
	dump_table(out, table, n, base, 1);
	fputs("};\n", out);
}

void
sg_config_dump(const struct sg_config *conf, FILE *out)
{
	fprintf(out, "# effective configuration from ");
	dump_string(out, conf->path);
	fputs("\n", out);
	dump_table(out, root_table, ARRAY_SIZE(root_table), conf, 0);
	dump_section(out, "broker", broker_table, ARRAY_SIZE(broker_table), &conf->broker);
	dump_section(out, "site", site_table, ARRAY_SIZE(site_table), &conf->site);
	dump_section(out, "csms", csms_table, ARRAY_SIZE(csms_table), &conf->csms);
	dump_section(out, "maintenance", maintenance_table, ARRAY_SIZE(maintenance_table),
	             &conf->maintenance);
	dump_section(out, "auth", auth_table, ARRAY_SIZE(auth_table), &conf->auth);
	dump_section(out, "meter", meter_table, ARRAY_SIZE(meter_table), &conf->meter);
	if (conf->n_key_overrides > 0) {
		fputs("ocpp_keys = (\n", out);
		for (int i = 0; i < conf->n_key_overrides; i++) {
			fputs("\t{\n", out);
			dump_table(out, key_override_table, ARRAY_SIZE(key_override_table),
			           &conf->key_overrides[i], 2);
			fprintf(out, "\t}%s\n", i + 1 < conf->n_key_overrides ? "," : "");
		}
		fputs(");\n", out);
	}
	fputs("charge_points = (\n", out);
	for (int i = 0; i < conf->n_cps; i++) {
		const struct sg_cp_conf *cp = &conf->cps[i];

		fputs("\t{\n", out);
		dump_table(out, cp_table, ARRAY_SIZE(cp_table), cp, 2);
		fputs("\t\tconnectors = (\n", out);
		for (int j = 0; j < cp->n_connectors; j++) {
			fputs("\t\t\t{\n", out);
			dump_table(out, connector_table, ARRAY_SIZE(connector_table),
			           &cp->connectors[j], 4);
			fputs("\t\t\t\tgpio = {\n", out);
			dump_table(out, gpio_table, ARRAY_SIZE(gpio_table), &cp->connectors[j].gpio,
			           5);
			fputs("\t\t\t\t};\n", out);
			fprintf(out, "\t\t\t}%s\n", j + 1 < cp->n_connectors ? "," : "");
		}
		fputs("\t\t);\n", out);
		fprintf(out, "\t}%s\n", i + 1 < conf->n_cps ? "," : "");
	}
	fputs(");\n", out);
}
