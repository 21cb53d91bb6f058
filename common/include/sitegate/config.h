/* The gateway's configuration: one libconfig file (default
 * /etc/sitegate/sitegate.conf) read by every service. Each setting is described
 * once in a table {name, type, default, min, max}; the whole file is validated
 * before any service starts its loop, and every error names file, line and
 * setting. etc/sitegate.conf.example documents every setting. */
#ifndef SITEGATE_CONFIG_H
#define SITEGATE_CONFIG_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SG_CONFIG_DEFAULT_PATH "/etc/sitegate/sitegate.conf"
#define SG_MAX_CONNECTORS      16
#define SG_MAX_CHARGE_POINTS   1024

enum sg_conf_type {
	SG_CONF_INT,    /* int; min/max apply */
	SG_CONF_FLOAT,  /* double; min/max apply (an integer literal is accepted) */
	SG_CONF_BOOL,   /* bool */
	SG_CONF_STRING, /* char[size]; longer values are an error */
	SG_CONF_ENUM,   /* char[size] holding one of choices */
};

/* One setting of a group. def is the default as text ("" / NULL for strings:
 * empty); a required setting has no default. */
struct sg_conf_desc {
	const char *name;
	enum sg_conf_type type;
	size_t offset;
	size_t size;
	const char *def;
	double min, max;
	bool required;
	bool secret;                /* never printed: sg_config_dump() shows "(set)" */
	const char *const *choices; /* SG_CONF_ENUM: NULL-terminated */
	const char *doc;
};

struct sg_conf_error {
	char file[256];
	int line;          /* 0 when unknown */
	char setting[128]; /* the setting's path, e.g. charge_points.[1].connectors.[0].phases */
	char text[256];
};

/* "file:line: setting: text" */
void sg_conf_error_format(const struct sg_conf_error *err, char *buf, size_t len);

struct sg_broker_conf {
	char host[256]; /* name, address, or unix socket path */
	int port;       /* 0 with a unix socket */
	char prefix[64];
	char password_dir[256]; /* <dir>/<service> holds that service's password; "" = anonymous */
	int keepalive_s;
};

struct sg_site_conf {
	char name[64];
	double grid_limit_a; /* per phase */
	double reserve_a;
	double nominal_voltage;
	int phases;
};

struct sg_csms_conf {
	char url[512];
	char ca_file[256];
};

/* GPIO lines of a connector with driver "gpiod", by line name (gpioinfo shows
 * them); "" = not wired. */
struct sg_gpio_conf {
	char chip[64];               /* gpiod_chip_open_lookup(): "gpiochip0", a path, a label */
	char contactor[32];          /* output: power contactor closed */
	char contactor_feedback[32]; /* input: auxiliary contact of the contactor */
	char lock[32];               /* output: cable lock engaged */
	char lock_feedback[32];      /* input: lock engaged */
	char plug[32];               /* input: EV connected (pilot state B, C or D) */
	char ev_charge[32];          /* input: EV requests energy (pilot state C or D) */
	char pilot_error[32];        /* input: pilot fault (state E or F) */
	char cable[32];              /* input: cable in the socket (proximity) */
	char led[32];                /* output: status light */
	bool active_low;             /* every line is active low */
	int feedback_timeout_ms;     /* a feedback must follow its output within this */
};

struct sg_connector_conf {
	int id;
	char driver[16]; /* "sim" or "gpiod" */
	char meter[16];  /* "sim" */
	char cable[16];  /* "socket" or "fixed" */
	double max_current_a;
	int phases;
	struct sg_gpio_conf gpio; /* driver "gpiod" */
};

struct sg_cp_conf {
	char id[64];
	char csms_url[512]; /* "" = csms.url */
	int security_profile;
	char authorization_key[41]; /* hex, initial AuthorizationKey: secret */
	char ca_file[256];          /* "" = csms.ca_file */
	char client_cert[256];
	char client_key[256]; /* path: secret contents, the path is not */
	char vendor[21];
	char model[21];
	char serial_number[26];
	char charge_box_serial_number[26];
	char firmware_version[51];
	char iccid[21];
	char imsi[21];
	char meter_type[26];
	char meter_serial_number[26];
	struct sg_connector_conf connectors[SG_MAX_CONNECTORS];
	int n_connectors;
};

/* maintenance: firmware updates and diagnostics uploads (sitegate-maintenance). */
struct sg_maintenance_conf {
	char install_hook[256]; /* run with the downloaded image; exit 0 = Installed */
	int install_timeout_s;
	char download_dir[256]; /* "" = <state_dir>/maintenance/download */
	int firmware_max_mb;
	char log_dir[256]; /* collected by GetDiagnostics; "" = none */
	int diagnostics_max_kb;
	int transfer_timeout_s;
	int retries; /* when UpdateFirmware / GetDiagnostics name none */
	int retry_interval_s;
};

/* ocpp_keys: how a site narrows an OCPP configuration key (its range, its
 * default, the members a list may hold), as vendors do for their chargers. */
#define SG_MAX_KEY_OVERRIDES 64
#define SG_KEY_UNSET_MIN     (-2147483647)
#define SG_KEY_UNSET_MAX     2147483647
struct sg_key_override_conf {
	char key[51];
	char def[501];     /* "" = the key's own default */
	int min, max;      /* integer keys; SG_KEY_UNSET_MIN/MAX: the key's own bound */
	char members[501]; /* list keys: the allowed members, ',' between; "" = all */
};

/* meter: the meter service (sitegate-meter). */
struct sg_meter_conf {
	int stop_txn_max_values; /* MeterValue objects in StopTransaction.transactionData */
	int stop_txn_max_bytes;  /* about that much JSON of them */
	int persist_interval_s;  /* energy registers of simulated meters are stored this often */
	int ack_timeout_s;       /* an ocpp_tx not acknowledged by then is sent again */
	int outbox_limit;        /* MeterValues waiting for the bridge's acknowledgement */
};

/* auth: the authorization service (sitegate-auth). */
struct sg_auth_conf {
	int cache_max_entries; /* authorization cache size, per charge point */
};

struct sg_config {
	char path[256];
	char state_dir[256];
	char log_level[16];
	struct sg_broker_conf broker;
	struct sg_site_conf site;
	struct sg_csms_conf csms;
	struct sg_maintenance_conf maintenance;
	struct sg_auth_conf auth;
	struct sg_meter_conf meter;
	struct sg_key_override_conf key_overrides[SG_MAX_KEY_OVERRIDES];
	int n_key_overrides;
	struct sg_cp_conf *cps; /* owned */
	int n_cps;
	/* The parsed file, for sg_conf_read_group() of service sections. Its
	 * settings point back at it: load a config in place and never copy the
	 * struct (a reload loads a new one and frees the old). */
	config_t lc;
};

/* Loads and validates the whole file. On error returns -EINVAL (or -ENOENT /
 * -ENOMEM) with err filled and nothing to free. */
int sg_config_load(const char *path, struct sg_config *conf, struct sg_conf_error *err);
void sg_config_free(struct sg_config *conf);
const struct sg_cp_conf *sg_config_cp(const struct sg_config *conf, const char *id);
/* Prints the effective configuration in libconfig syntax, secrets as "(set)". */
void sg_config_dump(const struct sg_config *conf, FILE *out);

/* Reads a group against a table: applies defaults, checks type, range, length,
 * choices, required settings, and refuses unknown settings. group may be NULL
 * (all defaults). path names the group in errors. */
int sg_conf_read_group(const config_setting_t *group, const char *path,
                       const struct sg_conf_desc *table, size_t n, void *out, const char *file,
                       struct sg_conf_error *err);

/* The tables of the top-level groups, for sg_config_dump() and the test that
 * keeps etc/sitegate.conf.example complete. */
struct sg_conf_group {
	const char *path; /* "broker", "charge_points.[]", "charge_points.[].connectors.[]" ... */
	const struct sg_conf_desc *table;
	size_t n;
};
extern const struct sg_conf_group sg_conf_groups[];
extern const size_t sg_conf_n_groups;

#endif
