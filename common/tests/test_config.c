/* Unit tests for sitegate/config.h: loading, defaults, every kind of error with
 * its exact "file:line: setting: text", the dump, and the example file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sitegate/config.h"

#define EXAMPLE_PATH "etc/sitegate.conf.example"

/* One line with a charge point, for fixtures about other settings. */
#define CP_MIN "charge_points = ( { id = \"CP1\"; connectors = ( { id = 1; } ); } );\n"

static char tmpdir[64];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sg-test-config-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
group_teardown(void **state)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* Writes text to tmpdir/name; returns the path in a static buffer. */
static const char *
write_fixture(const char *name, const char *text)
{
	static char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static char *
read_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long len;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	assert_true(len >= 0);
	rewind(fp);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	buf[len] = '\0';
	fclose(fp);
	return buf;
}

static char *
dump_to_string(const struct sg_config *conf)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	sg_config_dump(conf, fp);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

/* ------------------------------------------------------------------------ */

static const char full_conf[] =
    "# every setting, none at its default\n"
    "state_dir = \"/srv/sitegate/state\";\n"
    "log_level = \"debug\";\n"
    "broker = {\n"
    "  host = \"broker.example\"; port = 8883; prefix = \"site7/gw\";\n"
    "  password_dir = \"\"; keepalive_s = 60;\n"
    "};\n"
    "site = { name = \"Depot \\\"North\\\"\"; grid_limit_a = 125.5; reserve_a = 10;\n"
    "  nominal_voltage = 240.0; phases = 1; };\n"
    "csms = { url = \"wss://csms.example/ocpp16\"; ca_file = \"/etc/ca.pem\"; };\n"
    "charge_points = (\n"
    "  { id = \"CP-A\"; csms_url = \"wss://other.example/ocpp\"; security_profile = 3;\n"
    "    authorization_key = \"00112233445566778899AABBCCDDEEFF0011\";\n"
    "    ca_file = \"/etc/ca2.pem\"; client_cert = \"/etc/cp-a.crt\";\n"
    "    client_key = \"/etc/cp-a.key\"; vendor = \"ACME Chargers Ltd.xx\"; model = \"M2\";\n"
    "    serial_number = \"SN1\"; charge_box_serial_number = \"CB1\";\n"
    "    firmware_version = \"2.3.4\"; iccid = \"8949000000000000001\"; imsi = "
    "\"262010000000001\";\n"
    "    meter_type = \"Eastron SDM630\"; meter_serial_number = \"MS1\";\n"
    "    connectors = (\n"
    "      { id = 1; driver = \"gpiod\"; meter = \"sim\"; cable = \"fixed\"; max_current_a = 16;\n"
    "        phases = 1; },\n"
    "      { id = 2; driver = \"sim\"; cable = \"socket\"; max_current_a = 6.0; phases = 2; }\n"
    "    );\n"
    "  },\n"
    "  { id = \"CP-B\"; security_profile = 2;\n"
    "    connectors = ( { id = 1; max_current_a = 80.0; } ); }\n"
    ");\n";

static void
test_full_file(void **state)
{
	struct sg_config conf;
	struct sg_conf_error err;
	const struct sg_cp_conf *a, *b;
	const char *path = write_fixture("full.conf", full_conf);
	int rc = sg_config_load(path, &conf, &err);
	char msg[512];

	sg_conf_error_format(&err, msg, sizeof(msg));
	if (rc != 0)
		fail_msg("load failed: %d %s", rc, msg);
	assert_string_equal(conf.path, path);
	assert_string_equal(conf.state_dir, "/srv/sitegate/state");
	assert_string_equal(conf.log_level, "debug");
	assert_string_equal(conf.broker.host, "broker.example");
	assert_int_equal(conf.broker.port, 8883);
	assert_string_equal(conf.broker.prefix, "site7/gw");
	assert_string_equal(conf.broker.password_dir, "");
	assert_int_equal(conf.broker.keepalive_s, 60);
	assert_string_equal(conf.site.name, "Depot \"North\"");
	assert_true(conf.site.grid_limit_a == 125.5);
	assert_true(conf.site.reserve_a == 10.0);
	assert_true(conf.site.nominal_voltage == 240.0);
	assert_int_equal(conf.site.phases, 1);
	assert_string_equal(conf.csms.url, "wss://csms.example/ocpp16");
	assert_string_equal(conf.csms.ca_file, "/etc/ca.pem");
	assert_int_equal(conf.n_cps, 2);

	a = sg_config_cp(&conf, "CP-A");
	assert_ptr_equal(a, &conf.cps[0]);
	assert_string_equal(a->csms_url, "wss://other.example/ocpp");
	assert_int_equal(a->security_profile, 3);
	assert_string_equal(a->authorization_key, "00112233445566778899AABBCCDDEEFF0011");
	assert_string_equal(a->ca_file, "/etc/ca2.pem");
	assert_string_equal(a->client_cert, "/etc/cp-a.crt");
	assert_string_equal(a->client_key, "/etc/cp-a.key");
	assert_string_equal(a->vendor, "ACME Chargers Ltd.xx");
	assert_string_equal(a->model, "M2");
	assert_string_equal(a->serial_number, "SN1");
	assert_string_equal(a->charge_box_serial_number, "CB1");
	assert_string_equal(a->firmware_version, "2.3.4");
	assert_string_equal(a->iccid, "8949000000000000001");
	assert_string_equal(a->imsi, "262010000000001");
	assert_string_equal(a->meter_type, "Eastron SDM630");
	assert_string_equal(a->meter_serial_number, "MS1");
	assert_int_equal(a->n_connectors, 2);
	assert_int_equal(a->connectors[0].id, 1);
	assert_string_equal(a->connectors[0].driver, "gpiod");
	assert_string_equal(a->connectors[0].meter, "sim");
	assert_string_equal(a->connectors[0].cable, "fixed");
	assert_true(a->connectors[0].max_current_a == 16.0);
	assert_int_equal(a->connectors[0].phases, 1);
	assert_int_equal(a->connectors[1].id, 2);
	assert_string_equal(a->connectors[1].driver, "sim");
	assert_string_equal(a->connectors[1].cable, "socket");
	assert_true(a->connectors[1].max_current_a == 6.0);
	assert_int_equal(a->connectors[1].phases, 2);

	b = sg_config_cp(&conf, "CP-B");
	assert_ptr_equal(b, &conf.cps[1]);
	assert_string_equal(b->csms_url, ""); /* csms.url, which is wss:// */
	assert_int_equal(b->security_profile, 2);
	assert_string_equal(b->authorization_key, "");
	assert_int_equal(b->n_connectors, 1);
	assert_true(b->connectors[0].max_current_a == 80.0);
	assert_null(sg_config_cp(&conf, "CP-C"));
	assert_null(sg_config_cp(&conf, "cp-a"));
	assert_null(sg_config_cp(NULL, "CP-A"));

	/* The parsed file stays available for service sections. */
	assert_non_null(config_lookup(&conf.lc, "broker.port"));
	sg_config_free(&conf);
	assert_null(conf.cps);
	sg_config_free(&conf); /* twice is harmless */
	sg_config_free(NULL);
}

static void
test_minimal_defaults(void **state)
{
	struct sg_config conf;
	struct sg_conf_error err;
	const char *path = write_fixture(
	    "min.conf", "charge_points = ( { id = \"CP1\"; connectors = ( {} ); } );\n");
	const struct sg_cp_conf *cp;
	const struct sg_connector_conf *c;

	assert_int_equal(sg_config_load(path, &conf, &err), 0);
	assert_string_equal(conf.state_dir, "/var/lib/sitegate");
	assert_string_equal(conf.log_level, "info");
	assert_string_equal(conf.broker.host, "127.0.0.1");
	assert_int_equal(conf.broker.port, 1883);
	assert_string_equal(conf.broker.prefix, "sitegate");
	assert_string_equal(conf.broker.password_dir, "/etc/sitegate/bus");
	assert_int_equal(conf.broker.keepalive_s, 30);
	assert_string_equal(conf.site.name, "site");
	assert_true(conf.site.grid_limit_a == 63.0);
	assert_true(conf.site.reserve_a == 0.0);
	assert_true(conf.site.nominal_voltage == 230.0);
	assert_int_equal(conf.site.phases, 3);
	assert_string_equal(conf.csms.url, "ws://127.0.0.1:9000/ocpp");
	assert_string_equal(conf.csms.ca_file, "/etc/ssl/certs/ca-certificates.crt");
	assert_int_equal(conf.n_cps, 1);

	cp = &conf.cps[0];
	assert_string_equal(cp->id, "CP1");
	assert_string_equal(cp->csms_url, "");
	assert_int_equal(cp->security_profile, 0);
	assert_string_equal(cp->authorization_key, "");
	assert_string_equal(cp->ca_file, "");
	assert_string_equal(cp->client_cert, "");
	assert_string_equal(cp->client_key, "");
	assert_string_equal(cp->vendor, "Sitegate");
	assert_string_equal(cp->model, "SG-SIM");
	assert_string_equal(cp->serial_number, "");
	assert_string_equal(cp->charge_box_serial_number, "");
	assert_string_equal(cp->firmware_version, "0.1.0");
	assert_string_equal(cp->iccid, "");
	assert_string_equal(cp->imsi, "");
	assert_string_equal(cp->meter_type, "");
	assert_string_equal(cp->meter_serial_number, "");
	assert_int_equal(cp->n_connectors, 1);

	c = &cp->connectors[0];
	assert_int_equal(c->id, 1);
	assert_string_equal(c->driver, "sim");
	assert_string_equal(c->meter, "sim");
	assert_string_equal(c->cable, "socket");
	assert_true(c->max_current_a == 32.0);
	assert_int_equal(c->phases, 3);
	sg_config_free(&conf);
}

/* Values at the edges of their ranges and of their lengths load. */
static void
test_edges_accepted(void **state)
{
	static const char text[] =
	    "broker = { host = \"/run/mosquitto/mqtt.sock\"; port = 0; keepalive_s = 600;\n"
	    "  prefix = \"a/b/c\"; };\n"
	    "site = { grid_limit_a = 0; reserve_a = 10000; nominal_voltage = 480; };\n"
	    "charge_points = (\n"
	    "  { id = \"!~abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678\";\n"
	    "    security_profile = 1; authorization_key = \"0123456789abcdef0123456789ABCDEF\";\n"
	    "    vendor = \"12345678901234567890\";\n"
	    "    connectors = ( {id=1;}, {id=2;}, {id=3;}, {id=4;}, {id=5;}, {id=6;}, {id=7;},\n"
	    "      {id=8;}, {id=9;}, {id=10;}, {id=11;}, {id=12;}, {id=13;}, {id=14;}, {id=15;},\n"
	    "      {id=16; max_current_a = 6; phases = 1;} ); },\n"
	    "  { id = \"X\"; csms_url = \"ws://h\"; security_profile = 1;\n"
	    "    authorization_key = \"0123456789abcdef0123456789ABCDEF01234567\";\n"
	    "    connectors = ( { id = 1; max_current_a = 80.0; } ); }\n"
	    ");\n";
	struct sg_config conf;
	struct sg_conf_error err;
	char msg[512];
	int rc = sg_config_load(write_fixture("edges.conf", text), &conf, &err);

	sg_conf_error_format(&err, msg, sizeof(msg));
	if (rc != 0)
		fail_msg("load failed: %d %s", rc, msg);
	assert_int_equal(conf.broker.port, 0);
	assert_int_equal(strlen(conf.cps[0].id), 63);
	assert_int_equal(conf.cps[0].n_connectors, SG_MAX_CONNECTORS);
	assert_int_equal(conf.cps[0].connectors[15].id, 16);
	assert_int_equal(strlen(conf.cps[1].authorization_key), 40);
	sg_config_free(&conf);
}

/* ------------------------------------------------------------------------ */
/* Errors: "@" in the expected message stands for the fixture's path. */

struct bad_case {
	const char *name;
	const char *text;
	const char *want;
};

static const struct bad_case bad_cases[] = {
    {"syntax error", "state_dir = \"/x\";\nlog_level = ;\n" CP_MIN, "@:2: syntax error"},
    {"unterminated group", "broker = {\n  port = 1;\n" CP_MIN, "@:4: syntax error"},
    {"duplicate setting", "broker = { port = 1;\n  port = 2; };\n" CP_MIN,
     "@:2: duplicate setting name"},
    {"unknown top-level", CP_MIN "\nbogus = 1;\n", "@:3: bogus: unknown setting"},
    {"ocpp_keys: unknown key",
     CP_MIN "ocpp_keys = (\n  { key = \"HeartbeatIntervall\"; min = 10; max = 60; }\n);\n",
     "@:3: ocpp_keys.[0].key: \"HeartbeatIntervall\" is no OCPP configuration key"},
    {"ocpp_keys: range outside the key's",
     CP_MIN "ocpp_keys = (\n  { key = \"LightIntensity\"; min = 0; max = 150; }\n);\n",
     "@:3: ocpp_keys.[0].key: LightIntensity: range [0, 150] is not within [0, 100]"},
    {"ocpp_keys: twice",
     CP_MIN "ocpp_keys = (\n  { key = \"HeartbeatInterval\"; max = 600; },\n"
            "  { key = \"heartbeatinterval\"; default = \"60\"; }\n);\n",
     "@:4: ocpp_keys.[1].key: HeartbeatInterval is narrowed twice"},
    {"ocpp_keys: missing key", CP_MIN "ocpp_keys = (\n  { min = 1; }\n);\n",
     "@:3: ocpp_keys.[0].key: missing required setting"},
    {"unknown top-level group", "connector = { x = 1; };\n" CP_MIN,
     "@:1: connector: unknown setting"},
    {"unknown in broker", "broker = {\n  hots = \"x\";\n};\n" CP_MIN,
     "@:2: broker.hots: unknown setting"},
    {"unknown in charge point",
     "charge_points = (\n { id = \"CP1\"; connectors = ( { id = 1; } );\n"
     "   colour = \"red\"; }\n);\n",
     "@:3: charge_points.[0].colour: unknown setting"},
    {"unknown in connector",
     "charge_points = (\n"
     "  { id = \"CP1\";\n"
     "    connectors = (\n"
     "      { id = 1; },\n"
     "      { id = 2;\n"
     "        colour = \"red\"; }\n"
     "    ); }\n"
     ");\n",
     "@:6: charge_points.[0].connectors.[1].colour: unknown setting"},
    {"wrong type int", "broker = { port = \"1883\"; };\n" CP_MIN,
     "@:1: broker.port: expected an integer, got a string"},
    {"float for int", "site = {\n  phases = 3.0;\n};\n" CP_MIN,
     "@:2: site.phases: expected an integer, got a float"},
    {"wrong type float", "site = { grid_limit_a = \"63\"; };\n" CP_MIN,
     "@:1: site.grid_limit_a: expected a number, got a string"},
    {"wrong type string", CP_MIN "state_dir = 5;\n",
     "@:2: state_dir: expected a string, got an integer"},
    {"bool for string", "csms = { url = true; };\n" CP_MIN,
     "@:1: csms.url: expected a string, got a boolean"},
    {"list for string", "log_level = ( \"info\" );\n" CP_MIN,
     "@:1: log_level: expected a string, got a list"},
    {"group is scalar", "broker = 5;\n" CP_MIN,
     "@:1: broker: expected a group { ... }, got an integer"},
    {"out of range int", "broker = { keepalive_s = 700; };\n" CP_MIN,
     "@:1: broker.keepalive_s: 700 is out of range 5..600"},
    {"out of range negative", "broker = { port = -1; };\n" CP_MIN,
     "@:1: broker.port: -1 is out of range 0..65535"},
    {"out of range float", "site = { nominal_voltage = 99.5; };\n" CP_MIN,
     "@:1: site.nominal_voltage: 99.5 is out of range 100..480"},
    {"out of range int for float", "site = { reserve_a = -1; };\n" CP_MIN,
     "@:1: site.reserve_a: -1 is out of range 0..10000"},
    {"out of range in second charge point",
     "charge_points = ( { id = \"CP1\"; connectors = ( { id = 1; } ); },\n"
     "  { id = \"CP2\"; connectors = ( { id = 1; phases = 4; } ); } );\n",
     "@:2: charge_points.[1].connectors.[0].phases: 4 is out of range 1..3"},
    {"connector current too low",
     "charge_points = ( { id = \"CP1\"; connectors = ( { max_current_a = 5.9; } ); } );\n",
     "@:1: charge_points.[0].connectors.[0].max_current_a: 5.9 is out of range 6..80"},
    {"int64 out of int range", "broker = { port = 3000000000L; };\n" CP_MIN,
     "@:1: broker.port: 3000000000 is out of range 0..65535"},
    {"int64 in range but too big", "broker = { port = 70000L; };\n" CP_MIN,
     "@:1: broker.port: 70000 is out of range 0..65535"},
    {"int64 for float", "site = { grid_limit_a = 5000000000L; };\n" CP_MIN,
     "@:1: site.grid_limit_a: 5e+09 is out of range 0..10000"},
    {"decimal literal libconfig would wrap", "broker = {\n  port = 4294968179;\n};\n" CP_MIN,
     "@:2: broker.port: 4294968179 is out of range 0..65535"},
    {"negative literal libconfig would wrap", "broker = { keepalive_s = -4294967266; };\n" CP_MIN,
     "@:1: broker.keepalive_s: -4294967266 is out of range 5..600"},
    {"huge literal libconfig would wrap",
     "broker = { keepalive_s = 99999999999999999999999; };\n" CP_MIN,
     "@:1: broker.keepalive_s: 99999999999999999999999 is out of range 5..600"},
    {"hex literal libconfig would wrap", "site = { phases = 0x100000002; };\n" CP_MIN,
     "@:1: site.phases: 0x100000002 is out of range 1..3"},
    {"wrapped literal for a float", "site = { grid_limit_a = 4294967359; };\n" CP_MIN,
     "@:1: site.grid_limit_a: 4294967359 is out of range 0..10000"},
    {"bad enum", "log_level = \"verbose\";\n" CP_MIN,
     "@:1: log_level: \"verbose\" is not one of: error, warning, notice, info, debug"},
    {"bad enum in connector",
     "charge_points = ( { id = \"CP1\"; connectors = ( { driver = \"modbus\"; } ); } );\n",
     "@:1: charge_points.[0].connectors.[0].driver: \"modbus\" is not one of: sim, gpiod"},
    {"enum is case sensitive",
     "charge_points = ( { id = \"CP1\"; connectors = ( { cable = \"Fixed\"; } ); } );\n",
     "@:1: charge_points.[0].connectors.[0].cable: \"Fixed\" is not one of: socket, fixed"},
    {"string too long",
     "charge_points = ( { id = \"CP1\";\n  vendor = \"123456789012345678901\";\n"
     "  connectors = ( {} ); } );\n",
     "@:2: charge_points.[0].vendor: too long (21 characters, at most 20)"},
    {"id too long",
     "charge_points = ( { id = "
     "\"0123456789012345678901234567890123456789012345678901234567890123\";\n"
     "  connectors = ( {} ); } );\n",
     "@:1: charge_points.[0].id: too long (64 characters, at most 63)"},
    {"empty id", "charge_points = ( { id = \"\"; connectors = ( {} ); } );\n",
     "@:1: charge_points.[0].id: must not be empty"},
    {"id with space", "charge_points = ( { id = \"CP 1\"; connectors = ( {} ); } );\n",
     "@:1: charge_points.[0].id: \"CP 1\": character 3 is not allowed (printable ASCII "
     "without space, '/', '+', '#')"},
    {"id with slash", "charge_points = ( { id = \"site/CP1\"; connectors = ( {} ); } );\n",
     "@:1: charge_points.[0].id: \"site/CP1\": character 5 is not allowed (printable ASCII "
     "without space, '/', '+', '#')"},
    {"id with wildcard", "charge_points = ( { id = \"CP#\"; connectors = ( {} ); } );\n",
     "@:1: charge_points.[0].id: \"CP#\": character 3 is not allowed (printable ASCII "
     "without space, '/', '+', '#')"},
    {"duplicate id",
     "charge_points = (\n"
     "  { id = \"CP1\"; connectors = ( {} ); },\n"
     "  { id = \"CP2\"; connectors = ( {} ); },\n"
     "  {\n"
     "    id = \"CP1\"; connectors = ( {} ); }\n"
     ");\n",
     "@:5: charge_points.[2].id: duplicate id \"CP1\" (also charge_points.[0])"},
    {"connector ids skip",
     "charge_points = ( { id = \"CP1\";\n"
     "  connectors = ( { id = 1; },\n"
     "    { id = 3; } ); } );\n",
     "@:3: charge_points.[0].connectors.[1].id: is 3, expected 2: connector ids are 1..n in "
     "order"},
    {"connector ids start at 2",
     "charge_points = ( { id = \"CP1\"; connectors = ( { id = 2; }, { id = 1; } ); } );\n",
     "@:1: charge_points.[0].connectors.[0].id: is 2, expected 1: connector ids are 1..n in "
     "order"},
    {"second connector without id",
     "charge_points = ( { id = \"CP1\"; connectors = (\n  {},\n  {} ); } );\n",
     "@:3: charge_points.[0].connectors.[1].id: is 1, expected 2: connector ids are 1..n in "
     "order"},
    {"connector not a group", "charge_points = ( { id = \"CP1\"; connectors = ( 1 ); } );\n",
     "@:1: charge_points.[0].connectors.[0]: expected a group { ... }, got an integer"},
    {"no connectors", "charge_points = (\n  { id = \"CP1\"; }\n);\n",
     "@:2: charge_points.[0].connectors: missing required setting"},
    {"empty connectors", "charge_points = ( { id = \"CP1\";\n  connectors = ( ); } );\n",
     "@:2: charge_points.[0].connectors: at least one connector is required"},
    {"connectors as group", "charge_points = ( { id = \"CP1\"; connectors = { id = 1; }; } );\n",
     "@:1: charge_points.[0].connectors: expected a list ( { ... }, ... ), got a group"},
    {"too many connectors",
     "charge_points = ( { id = \"CP1\"; connectors = ( {id=1;}, {id=2;}, {id=3;}, {id=4;},\n"
     "  {id=5;}, {id=6;}, {id=7;}, {id=8;}, {id=9;}, {id=10;}, {id=11;}, {id=12;},\n"
     "  {id=13;}, {id=14;}, {id=15;}, {id=16;}, {id=17;} ); } );\n",
     "@:1: charge_points.[0].connectors: 17 connectors, at most 16 allowed"},
    {"missing id",
     "charge_points = (\n  { id = \"CP1\"; connectors = ( {} ); },\n"
     "  { vendor = \"X\";\n    connectors = ( {} ); }\n);\n",
     "@:3: charge_points.[1].id: missing required setting"},
    {"no charge points", "state_dir = \"/x\";\n", "@: charge_points: missing required setting"},
    {"empty charge points", "charge_points = ();\n",
     "@:1: charge_points: at least one charge point is required"},
    {"charge points as array", "charge_points = [ ];\n",
     "@:1: charge_points: expected a list ( { ... }, ... ), got an array"},
    {"charge point not a group", "charge_points = ( \"CP1\" );\n",
     "@:1: charge_points.[0]: expected a group { ... }, got a string"},
    {"profile 3 without cert",
     "csms = { url = \"wss://csms.example/ocpp\"; };\n"
     "charge_points = (\n  { id = \"CP1\"; security_profile = 3; client_key = \"/k\";\n"
     "    connectors = ( {} ); }\n);\n",
     "@:3: charge_points.[0].client_cert: required with security profile 3"},
    {"profile 3 with empty key",
     "csms = { url = \"wss://csms.example/ocpp\"; };\n"
     "charge_points = ( { id = \"CP1\"; security_profile = 3; client_cert = \"/c\";\n"
     "  client_key = \"\"; connectors = ( {} ); } );\n",
     "@:3: charge_points.[0].client_key: required with security profile 3"},
    {"profile 2 with ws://",
     "charge_points = ( { id = \"CP1\";\n  security_profile = 2; connectors = ( {} ); } );\n",
     "@:2: charge_points.[0].security_profile: security profile 2 requires a wss:// URL, but "
     "csms.url is ws://"},
    {"profile 3 with own ws:// url",
     "csms = { url = \"wss://csms.example/ocpp\"; };\n"
     "charge_points = ( { id = \"CP1\"; csms_url = \"ws://x/ocpp\";\n"
     "  security_profile = 3; client_cert = \"/c\"; client_key = \"/k\";\n"
     "  connectors = ( {} ); } );\n",
     "@:3: charge_points.[0].security_profile: security profile 3 requires a wss:// URL, but "
     "csms_url is ws://"},
    {"bad csms_url",
     "charge_points = ( { id = \"CP1\"; csms_url = \"http://x/ocpp\"; connectors = ( {} ); } );\n",
     "@:1: charge_points.[0].csms_url: must be empty (csms.url) or start with ws:// or wss://"},
    {"bad csms.url", "csms = {\n  url = \"https://x\";\n};\n" CP_MIN,
     "@:2: csms.url: must start with ws:// or wss://"},
    {"scheme only", "csms = { url = \"ws://\"; };\n" CP_MIN,
     "@:1: csms.url: must start with ws:// or wss://"},
    {"no url at all", "csms = { url = \"\"; };\n" CP_MIN,
     "@:2: charge_points.[0].csms_url: must be set because csms.url is empty"},
    {"bad hex key",
     "charge_points = ( { id = \"CP1\"; security_profile = 1;\n"
     "  authorization_key = \"0123456789abcdef0123456789abcdeg\"; connectors = ( {} ); } );\n",
     "@:2: charge_points.[0].authorization_key: must be empty or 32 to 40 hex digits (an even "
     "number)"},
    {"odd hex key",
     "charge_points = ( { id = \"CP1\"; security_profile = 1;\n"
     "  authorization_key = \"0123456789abcdef0123456789abcdef0\"; connectors = ( {} ); } );\n",
     "@:2: charge_points.[0].authorization_key: must be empty or 32 to 40 hex digits (an even "
     "number)"},
    {"short hex key",
     "charge_points = ( { id = \"CP1\"; authorization_key = \"00ff\"; connectors = ( {} ); } );\n",
     "@:1: charge_points.[0].authorization_key: must be empty or 32 to 40 hex digits (an even "
     "number)"},
    {"hex key too long",
     "charge_points = ( { id = \"CP1\"; connectors = ( {} );\n"
     "  authorization_key = \"0123456789abcdef0123456789abcdef0123456789\"; } );\n",
     "@:2: charge_points.[0].authorization_key: too long (42 characters, at most 40)"},
    {"port 0 without unix socket", "broker = { port = 0; };\n" CP_MIN,
     "@:1: broker.port: 0 is only allowed with a unix socket host (a path starting with '/')"},
    {"unix socket with a port", "broker = {\n  host = \"/run/mqtt.sock\";\n};\n" CP_MIN,
     "@:1: broker.port: must be 0 with a unix socket host"},
    {"empty host", "broker = { host = \"\"; port = 1; };\n" CP_MIN,
     "@:1: broker.host: must not be empty"},
    {"prefix with wildcard", "broker = { prefix = \"site/+\"; };\n" CP_MIN,
     "@:1: broker.prefix: must not contain the MQTT wildcards '+' or '#'"},
    {"prefix with hash", "broker = { prefix = \"#\"; };\n" CP_MIN,
     "@:1: broker.prefix: must not contain the MQTT wildcards '+' or '#'"},
    {"prefix with leading slash", "broker = { prefix = \"/sitegate\"; };\n" CP_MIN,
     "@:1: broker.prefix: must not start or end with '/'"},
    {"prefix with trailing slash", "broker = { prefix = \"sitegate/\"; };\n" CP_MIN,
     "@:1: broker.prefix: must not start or end with '/'"},
    {"empty prefix", "broker = { prefix = \"\"; };\n" CP_MIN,
     "@:1: broker.prefix: must not be empty"},
    {"empty state_dir", "state_dir = \"\";\n" CP_MIN, "@:1: state_dir: must not be empty"},
};

static void
check_bad(const struct bad_case *c, const char *path, int rc, const struct sg_conf_error *err,
          const struct sg_config *conf)
{
	char want[512], got[512];
	const char *at = strchr(c->want, '@');

	assert_non_null(at);
	snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - c->want), c->want, path, at + 1);
	sg_conf_error_format(err, got, sizeof(got));
	if (rc != -EINVAL || strcmp(got, want) != 0)
		fail_msg("case \"%s\": rc %d\n  got:  %s\n  want: %s", c->name, rc, got, want);
	/* Nothing to free after a failure. */
	assert_null(conf->cps);
	assert_int_equal(conf->n_cps, 0);
	assert_null(conf->lc.root);
}

static void
test_errors(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		const char *path = write_fixture("bad.conf", c->text);
		struct sg_config conf;
		struct sg_conf_error err;
		int rc = sg_config_load(path, &conf, &err);

		check_bad(c, path, rc, &err, &conf);
	}
	assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 20);
}

/* The key is never part of an error message. */
static void
test_errors_hide_key(void **state)
{
	static const char text[] = "charge_points = ( { id = \"CP1\"; connectors = ( {} );\n"
	                           "  authorization_key = \"5ecre7\\n5ecre7\"; } );\n";
	struct sg_config conf;
	struct sg_conf_error err;
	char msg[512];

	assert_int_equal(sg_config_load(write_fixture("key.conf", text), &conf, &err), -EINVAL);
	sg_conf_error_format(&err, msg, sizeof(msg));
	assert_null(strstr(msg, "5ecre7"));
	assert_string_equal(err.setting, "charge_points.[0].authorization_key");
}

static void
test_missing_file(void **state)
{
	struct sg_config conf;
	struct sg_conf_error err;
	char path[128], want[256], got[256];

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	assert_int_equal(sg_config_load(path, &conf, &err), -ENOENT);
	assert_int_equal(err.line, 0);
	sg_conf_error_format(&err, got, sizeof(got));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(got, want);
	assert_null(conf.cps);
	sg_config_free(&conf);

	/* The error argument is optional. */
	assert_int_equal(sg_config_load(path, &conf, NULL), -ENOENT);
}

/* @include is resolved next to the including file, and errors name the
 * included file. */
static void
test_include(void **state)
{
	char inc_dir[128], main_path[128], want[256], got[256];
	struct sg_config conf;
	struct sg_conf_error err;

	snprintf(inc_dir, sizeof(inc_dir), "%s/cp.d", tmpdir);
	mkdir(inc_dir, 0700);
	write_fixture(
	    "cp.d/cps.inc",
	    "charge_points = ( { id = \"CPX\";\n  connectors = ( { phases = 1; } ); } );\n");
	snprintf(main_path, sizeof(main_path), "%s",
	         write_fixture("inc.conf", "log_level = \"debug\";\n@include \"cp.d/cps.inc\"\n"));
	assert_int_equal(sg_config_load(main_path, &conf, &err), 0);
	assert_string_equal(conf.cps[0].id, "CPX");
	assert_int_equal(conf.cps[0].connectors[0].phases, 1);
	sg_config_free(&conf);

	write_fixture(
	    "cp.d/cps.inc",
	    "charge_points = ( { id = \"CPX\";\n  connectors = ( { phases = 7; } ); } );\n");
	assert_int_equal(sg_config_load(main_path, &conf, &err), -EINVAL);
	sg_conf_error_format(&err, got, sizeof(got));
	snprintf(
	    want, sizeof(want),
	    "%s/cp.d/cps.inc:2: charge_points.[0].connectors.[0].phases: 7 is out of range 1..3",
	    tmpdir);
	assert_string_equal(got, want);

	write_fixture("cp.d/cps.inc", "charge_points = (\n  { id = ; } );\n");
	assert_int_equal(sg_config_load(main_path, &conf, &err), -EINVAL);
	sg_conf_error_format(&err, got, sizeof(got));
	snprintf(want, sizeof(want), "%s/cp.d/cps.inc:2: syntax error", tmpdir);
	assert_string_equal(got, want);
}

/* ------------------------------------------------------------------------ */

static void
test_dump(void **state)
{
	static const char text[] =
	    "site = { name = \"tab\\there \\\"q\\\" back\\\\slash\"; grid_limit_a = 40;\n"
	    "  reserve_a = 0.1; };\n"
	    "charge_points = (\n"
	    "  { id = \"CP1\"; security_profile = 1;\n"
	    "    authorization_key = \"DEADBEEFDEADBEEFDEADBEEFDEADBEEF\";\n"
	    "    connectors = ( {}, { id = 2; cable = \"fixed\"; } ); },\n"
	    "  { id = \"CP2\"; connectors = ( {} ); }\n"
	    ");\n";
	struct sg_config conf, again;
	struct sg_conf_error err;
	char *dump, *dump2, *orig;
	char *p;

	assert_int_equal(sg_config_load(write_fixture("dump.conf", text), &conf, &err), 0);
	dump = dump_to_string(&conf);
	assert_null(strstr(dump, "DEADBEEF"));
	assert_null(strstr(dump, "deadbeef"));
	assert_non_null(strstr(dump, "\t\tauthorization_key = \"(set)\";\n"));
	/* CP2 has no key: shown empty. */
	p = strstr(dump, "id = \"CP2\"");
	assert_non_null(p);
	assert_non_null(strstr(p, "authorization_key = \"\";"));
	assert_non_null(strstr(dump, "\tgrid_limit_a = 40.0;\n"));
	assert_non_null(strstr(dump, "\treserve_a = 0.1;\n"));
	assert_non_null(strstr(dump, "\tport = 1883;\n"));
	assert_non_null(strstr(dump, "log_level = \"info\";\n"));

	/* The dump is a valid file: without the key it loads to the same values. */
	orig = strdup(dump);
	assert_non_null(orig);
	p = strstr(dump, "\"(set)\"");
	memcpy(p, "\"\"     ", 7);
	assert_int_equal(sg_config_load(write_fixture("dump2.conf", dump), &again, &err), 0);
	assert_string_equal(again.site.name, "tab\there \"q\" back\\slash");
	assert_true(again.site.reserve_a == 0.1);
	assert_int_equal(again.n_cps, 2);
	assert_int_equal(again.cps[0].n_connectors, 2);
	assert_string_equal(again.cps[0].connectors[1].cable, "fixed");
	assert_string_equal(again.cps[0].authorization_key, "");
	strcpy(again.cps[0].authorization_key, conf.cps[0].authorization_key);
	strcpy(again.path, conf.path);
	dump2 = dump_to_string(&again);
	assert_string_equal(orig, dump2);
	free(orig);
	free(dump2);
	sg_config_free(&again);
	free(dump);
	sg_config_free(&conf);
}

static void
test_error_format(void **state)
{
	struct sg_conf_error err = {.file = "/etc/sitegate/sitegate.conf",
	                            .line = 12,
	                            .setting = "broker.port",
	                            .text = "70000 is out of range 0..65535"};
	char buf[256];

	sg_conf_error_format(&err, buf, sizeof(buf));
	assert_string_equal(
	    buf, "/etc/sitegate/sitegate.conf:12: broker.port: 70000 is out of range 0..65535");
	err.line = 0;
	sg_conf_error_format(&err, buf, sizeof(buf));
	assert_string_equal(buf, "/etc/sitegate/sitegate.conf: broker.port: 70000 is out of range "
	                         "0..65535");
	err.setting[0] = '\0';
	sg_conf_error_format(&err, buf, sizeof(buf));
	assert_string_equal(buf, "/etc/sitegate/sitegate.conf: 70000 is out of range 0..65535");
	/* Truncates safely. */
	sg_conf_error_format(&err, buf, 8);
	assert_string_equal(buf, "/etc/si");
	sg_conf_error_format(&err, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* sg_conf_read_group() with a service's own table */

struct svc_conf {
	int interval_s;
	double gain;
	bool enabled;
	char name[8];
	char mode[8];
	char token[16];
};

static const char *const svc_modes[] = {"fast", "slow", NULL};

static const struct sg_conf_desc svc_table[] = {
    {.name = "interval_s",
     .type = SG_CONF_INT,
     .offset = offsetof(struct svc_conf, interval_s),
     .size = sizeof(int),
     .def = "10",
     .min = 1,
     .max = 60},
    {.name = "gain",
     .type = SG_CONF_FLOAT,
     .offset = offsetof(struct svc_conf, gain),
     .size = sizeof(double),
     .def = "0.5",
     .min = -1,
     .max = 1},
    {.name = "enabled",
     .type = SG_CONF_BOOL,
     .offset = offsetof(struct svc_conf, enabled),
     .size = sizeof(bool),
     .def = "true"},
    {.name = "name",
     .type = SG_CONF_STRING,
     .offset = offsetof(struct svc_conf, name),
     .size = sizeof(((struct svc_conf *)0)->name),
     .required = true},
    {.name = "mode",
     .type = SG_CONF_ENUM,
     .offset = offsetof(struct svc_conf, mode),
     .size = sizeof(((struct svc_conf *)0)->mode),
     .def = "slow",
     .choices = svc_modes},
    {.name = "token",
     .type = SG_CONF_STRING,
     .offset = offsetof(struct svc_conf, token),
     .size = sizeof(((struct svc_conf *)0)->token),
     .secret = true},
};

static int
read_svc(const char *text, struct svc_conf *out, char *msg, size_t len)
{
	struct sg_conf_error err;
	config_t lc;
	int rc;

	config_init(&lc);
	assert_int_equal(config_read_string(&lc, text), CONFIG_TRUE);
	memset(out, 0x5a, sizeof(*out));
	rc = sg_conf_read_group(config_lookup(&lc, "svc"), "svc", svc_table,
	                        sizeof(svc_table) / sizeof(svc_table[0]), out, "svc.conf", &err);
	sg_conf_error_format(&err, msg, len);
	config_destroy(&lc);
	return rc;
}

static void
test_read_group(void **state)
{
	struct svc_conf c;
	char msg[256];

	assert_int_equal(read_svc("svc = { name = \"a\"; };", &c, msg, sizeof(msg)), 0);
	assert_int_equal(c.interval_s, 10);
	assert_true(c.gain == 0.5);
	assert_true(c.enabled);
	assert_string_equal(c.name, "a");
	assert_string_equal(c.mode, "slow");
	assert_string_equal(c.token, "");

	assert_int_equal(read_svc("svc = { name = \"1234567\"; interval_s = 60; gain = -1;\n"
	                          "enabled = false; mode = \"fast\"; token = \"t\"; };",
	                          &c, msg, sizeof(msg)),
	                 0);
	assert_int_equal(c.interval_s, 60);
	assert_true(c.gain == -1.0);
	assert_false(c.enabled);
	assert_string_equal(c.name, "1234567");
	assert_string_equal(c.mode, "fast");
	assert_string_equal(c.token, "t");

	assert_int_equal(read_svc("svc = { name = \"a\";\n enabled = 1; };", &c, msg, sizeof(msg)),
	                 -EINVAL);
	assert_string_equal(
	    msg, "svc.conf:2: svc.enabled: expected a boolean (true or false), got an integer");
	assert_int_equal(read_svc("svc = { name = \"12345678\"; };", &c, msg, sizeof(msg)),
	                 -EINVAL);
	assert_string_equal(msg, "svc.conf:1: svc.name: too long (8 characters, at most 7)");
	assert_int_equal(read_svc("svc = {\n gain = 1; };", &c, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "svc.conf:1: svc.name: missing required setting");
	assert_int_equal(read_svc("svc = { name = \"a\"; gain = 1.5; };", &c, msg, sizeof(msg)),
	                 -EINVAL);
	assert_string_equal(msg, "svc.conf:1: svc.gain: 1.5 is out of range -1..1");
	assert_int_equal(read_svc("svc = { name = \"a\"; token = 5; };", &c, msg, sizeof(msg)),
	                 -EINVAL);
	assert_string_equal(msg, "svc.conf:1: svc.token: expected a string, got an integer");
	assert_int_equal(
	    read_svc("svc = { name = \"a\"; extra = { x = 1; }; };", &c, msg, sizeof(msg)),
	    -EINVAL);
	assert_string_equal(msg, "svc.conf:1: svc.extra: unknown setting");
	assert_int_equal(read_svc("svc = ( 1 );", &c, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "svc.conf:1: svc: expected a group { ... }, got a list");

	/* No group: all defaults, and the missing required setting has no line. */
	assert_int_equal(read_svc("other = 1;", &c, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, "svc.conf: svc.name: missing required setting");
}

/* Service sections read later from the kept config_t get the same check for
 * integer literals that libconfig 1.5 wraps. */
static void
test_read_group_wrapped_literal(void **state)
{
	const char *path = write_fixture("svc.conf", "charge_points = ( { id = \"CP1\";\n"
	                                             "  connectors = ( {} ); } );\n"
	                                             "svc = { name = \"a\";\n"
	                                             "  interval_s = 4294967306; };\n");
	struct sg_config conf;
	struct sg_conf_error err;
	struct svc_conf c;
	char want[256], got[256];

	/* sg_config_load() refuses the unknown section ... */
	assert_int_equal(sg_config_load(path, &conf, &err), -EINVAL);
	assert_string_equal(err.setting, "svc");
	assert_string_equal(err.text, "unknown setting");

	/* ... so read it the way a service reads its own file. */
	config_init(&conf.lc);
	assert_int_equal(config_read_file(&conf.lc, path), CONFIG_TRUE);
	assert_int_equal(config_setting_get_int(config_lookup(&conf.lc, "svc.interval_s")), 10);
	assert_int_equal(sg_conf_read_group(config_lookup(&conf.lc, "svc"), "svc", svc_table,
	                                    sizeof(svc_table) / sizeof(svc_table[0]), &c, path,
	                                    &err),
	                 -EINVAL);
	sg_conf_error_format(&err, got, sizeof(got));
	snprintf(want, sizeof(want), "%s:4: svc.interval_s: 4294967306 is out of range 1..60",
	         path);
	assert_string_equal(got, want);
	config_destroy(&conf.lc);
}

/* Every table default satisfies the table's own rules. */
static void
test_table_defaults(void **state)
{
	assert_true(sg_conf_n_groups >= 6);
	for (size_t g = 0; g < sg_conf_n_groups; g++) {
		const struct sg_conf_group *grp = &sg_conf_groups[g];

		assert_non_null(grp->path);
		for (size_t i = 0; i < grp->n; i++) {
			const struct sg_conf_desc *d = &grp->table[i];
			bool found = false;

			assert_non_null(d->doc);
			if (d->required) {
				assert_null(d->def);
				continue;
			}
			switch (d->type) {
			case SG_CONF_INT:
			case SG_CONF_FLOAT:
				assert_non_null(d->def);
				assert_true(strtod(d->def, NULL) >= d->min);
				assert_true(strtod(d->def, NULL) <= d->max);
				break;
			case SG_CONF_BOOL:
				break;
			case SG_CONF_STRING:
				assert_true(d->def == NULL || strlen(d->def) < d->size);
				break;
			case SG_CONF_ENUM:
				assert_non_null(d->choices);
				for (const char *const *c = d->choices; *c; c++) {
					assert_true(strlen(*c) < d->size);
					found = found || strcmp(*c, d->def) == 0;
				}
				assert_true(found);
				break;
			}
		}
	}
}

/* ------------------------------------------------------------------------ */
/* etc/sitegate.conf.example */

static bool
mentions_setting(const char *text, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = strstr(text, name); p; p = strstr(p + 1, name)) {
		bool starts = p == text || p[-1] == '\t' || p[-1] == ' ' || p[-1] == '\n';

		if (starts && strncmp(p + len, " =", 2) == 0)
			return true;
	}
	return false;
}

static void
test_example_loads(void **state)
{
	struct sg_config conf;
	struct sg_conf_error err;
	char msg[512];
	int rc = sg_config_load(EXAMPLE_PATH, &conf, &err);

	sg_conf_error_format(&err, msg, sizeof(msg));
	if (rc != 0)
		fail_msg("%s does not load: %s", EXAMPLE_PATH, msg);
	assert_string_equal(conf.csms.url, "ws://127.0.0.1:9000/ocpp");
	assert_int_equal(conf.n_cps, 2);
	assert_string_equal(conf.cps[0].id, "CP1");
	assert_int_equal(conf.cps[0].n_connectors, 2);
	assert_string_equal(conf.cps[1].id, "CP2");
	assert_int_equal(conf.cps[1].n_connectors, 1);
	for (int i = 0; i < conf.n_cps; i++) {
		assert_string_equal(conf.cps[i].csms_url, "");
		assert_int_equal(conf.cps[i].security_profile, 0);
		for (int j = 0; j < conf.cps[i].n_connectors; j++)
			assert_string_equal(conf.cps[i].connectors[j].driver, "sim");
	}
	sg_config_free(&conf);
}

static void
test_example_complete(void **state)
{
	char *text = read_text(EXAMPLE_PATH);
	int missing = 0;

	for (size_t g = 0; g < sg_conf_n_groups; g++) {
		for (size_t i = 0; i < sg_conf_groups[g].n; i++) {
			const char *name = sg_conf_groups[g].table[i].name;

			if (!mentions_setting(text, name)) {
				print_error("%s: setting \"%s\" (group \"%s\") is not documented\n",
				            EXAMPLE_PATH, name, sg_conf_groups[g].path);
				missing++;
			}
		}
	}
	free(text);
	assert_int_equal(missing, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_minimal_defaults),
	    cmocka_unit_test(test_edges_accepted),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_errors_hide_key),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_include),
	    cmocka_unit_test(test_dump),
	    cmocka_unit_test(test_error_format),
	    cmocka_unit_test(test_read_group),
	    cmocka_unit_test(test_read_group_wrapped_literal),
	    cmocka_unit_test(test_table_defaults),
	    cmocka_unit_test(test_example_loads),
	    cmocka_unit_test(test_example_complete),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
