/* OCPP 1.6 configuration keys: one definition table for the whole gateway.
 *
 * The table holds every standard key of the six feature profiles (OCPP 1.6
 * edition 2 with errata v4.0, chapter 9), the keys of the "Improved security
 * for OCPP 1.6-J" whitepaper, the keys of the application note "Using ISO 15118
 * Plug & Charge with OCPP 1.6" (opt-in: the gateway has no ISO 15118 stack, so
 * they are not served unless a site enables them) and the vendor keys of the
 * chargers Sitegate stands in for. Each key names the one service that owns it;
 * that service serves the key with the runtime in keys.h.
 *
 * Key names are CiString50: sg_key_find() matches them case-insensitively and
 * the spelling in the table is the one used in bus topics, so the bridge looks a
 * name up here before it forwards a ChangeConfiguration (and answers
 * NotSupported for names the table does not know). Values are CiString500. */
#ifndef SITEGATE_OCPP_KEYS_H
#define SITEGATE_OCPP_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_KEY_NAME_MAX  50        /* CiString50 */
#define SG_KEY_VALUE_MAX 500       /* CiString500 */
#define SG_KEY_INT_MAX   INT32_MAX /* the spec sets no bound: anything an OCPP integer holds */

/* The feature profile (or document) that defines a key. */
enum sg_key_profile {
	SG_KEY_CORE,
	SG_KEY_FIRMWARE_MANAGEMENT,
	SG_KEY_LOCAL_AUTH_LIST_MANAGEMENT,
	SG_KEY_RESERVATION,
	SG_KEY_SMART_CHARGING,
	SG_KEY_REMOTE_TRIGGER, /* defines no keys */
	SG_KEY_SECURITY,       /* the security whitepaper */
	SG_KEY_PNC,            /* the ISO 15118 Plug & Charge application note */
	SG_KEY_VENDOR,
	SG_KEY__PROFILES
};

enum sg_key_type {
	SG_KEY_BOOL,   /* "true" / "false" */
	SG_KEY_INT,    /* decimal */
	SG_KEY_STRING, /* printable ASCII, min_len..max_len, format */
	SG_KEY_CSL,    /* comma separated list */
};

/* What a string, or each member of a CSL, must look like. Every value is
 * printable ASCII whatever its format. */
enum sg_key_format {
	SG_KEY_FMT_TEXT,
	SG_KEY_FMT_HEX,            /* an even number of hex digits (AuthorizationKey) */
	SG_KEY_FMT_CP_ID,          /* a charge point identity: no space, '/', '+', '#' */
	SG_KEY_FMT_WS_SETTINGS,    /* WS,host,port,path,ocpp1.6|socpp1.6,user,pass[,] */
	SG_KEY_FMT_JSON_OBJECT,    /* a JSON object */
	SG_KEY_FMT_MEMBERS,        /* CSL: members from the key's `members` */
	SG_KEY_FMT_PHASE_ROTATION, /* CSL: <connector id>.<rotation>, one per connector */
};

/* Where a charge point's default comes from when the site sets none. A derived
 * default that fails the key's check falls back to the table's `def`. */
enum sg_key_default_from {
	SG_KEY_DEF_TABLE,             /* `def` */
	SG_KEY_DEF_CP_ID,             /* the charge point's id */
	SG_KEY_DEF_CONNECTORS,        /* its number of connectors */
	SG_KEY_DEF_SECURITY_PROFILE,  /* charge_points.[].security_profile */
	SG_KEY_DEF_AUTHORIZATION_KEY, /* charge_points.[].authorization_key; "" = unset */
	SG_KEY_DEF_CSMS_URL,          /* its Central System URL as VendorWebsocketSettings */
};

enum {
	SG_KEYF_RO = 1u << 0,       /* R: ChangeConfiguration is Rejected; the owner may set it */
	SG_KEYF_REBOOT = 1u << 1,   /* a change takes effect after a restart: RebootRequired */
	SG_KEYF_SECRET = 1u << 2,   /* write-only: never published, listed or logged */
	SG_KEYF_VENDOR = 1u << 3,   /* listed by GetConfiguration only when named */
	SG_KEYF_EMPTY_OK = 1u << 4, /* CSL: the empty list is a value (no measurands) */
	SG_KEYF_EMPTY_DEFAULT = 1u << 5, /* writing "" restores the default */
	SG_KEYF_OPTIN = 1u << 6,         /* served only where the site enables it */
	SG_KEYF_VOLATILE = 1u << 7,      /* live state of the owner, not stored */
	SG_KEYF_RAISE_ONLY = 1u << 8, /* ChangeConfiguration may only raise it (SecurityProfile) */
	SG_KEYF_REDACT = 1u << 9,     /* holds a password field, masked where it is shown */
};

struct sg_key_def {
	const char *name;
	enum sg_key_profile profile;
	const char
	    *owner; /* "ocpp-bridge", "connector", "meter", "auth", "smartcharge", "maintenance" */
	enum sg_key_type type;
	unsigned flags;  /* SG_KEYF_* */
	const char *def; /* the default; NULL: no value until written (AuthorizationKey) */
	enum sg_key_default_from def_from;
	int64_t min, max;        /* INT; BOOL: 0..1 */
	size_t min_len, max_len; /* STRING */
	enum sg_key_format format;
	const char *members; /* FMT_MEMBERS: the allowed members, canonical spelling, ',' between */
	const char *max_key; /* CSL: the *MaxLength key bounding the member count; NULL: none */
};

extern const struct sg_key_def sg_key_defs[];
extern const size_t sg_key_n_defs;

/* The current value of another key of the same charge point (NULL: unknown). */
typedef const char *sg_key_lookup_fn(const char *name, void *ud);

/* A site's narrowing of a key, and the context of one check. Everything is
 * optional: a zeroed struct changes nothing. */
struct sg_key_limits {
	const char *def; /* the site's default; NULL: the key's own */
	bool narrow;     /* INT and BOOL (false 0, true 1): [min, max] replaces the key's range */
	int64_t min, max;
	const char *members; /* FMT_MEMBERS: the allowed subset, ',' between; NULL: all */
	bool enable;         /* SG_KEYF_OPTIN keys: serve them at this site */
	/* Set by the runtime for each check: resolves the *MaxLength key that bounds a
	 * CSL and NumberOfConnectors for ConnectorPhaseRotation. NULL: their defaults. */
	sg_key_lookup_fn *lookup;
	void *lookup_ud;
};

struct sg_key_override_conf;
/* The limits a sitegate.conf ocpp_keys entry sets for key def (pointing into the entry). */
struct sg_key_limits sg_key_override_limits(const struct sg_key_override_conf *o,
                                            const struct sg_key_def *def);

/* The key named name, case-insensitively, or NULL. */
const struct sg_key_def *sg_key_find(const char *name);
/* "Core", "FirmwareManagement", ... as in SupportedFeatureProfiles; "Security",
 * "ISO15118PnC", "Vendor" for the others; NULL when out of range. */
const char *sg_key_profile_name(enum sg_key_profile profile);

/* Validates value for def, narrowed by site (may be NULL). On success returns 0
 * and writes the canonical form to canonical (may be NULL; SG_KEY_VALUE_MAX + 1
 * bytes always suffice): booleans in lower case, integers without leading zeros,
 * CSL members in the table's spelling without blanks. Otherwise returns -EINVAL
 * with the reason in why (never quoting a secret), or -ENOSPC when canonical is
 * too small. The empty string of an SG_KEYF_EMPTY_DEFAULT key is valid: the
 * runtime turns it into the default. */
int sg_key_check(const struct sg_key_def *def, const struct sg_key_limits *site, const char *value,
                 char *canonical, size_t len, char *why, size_t why_len);
/* Checks a site's narrowing: the range lies within the key's, the members are
 * the key's, the default passes. Returns 0 or -EINVAL with the reason. */
int sg_key_limits_check(const struct sg_key_def *def, const struct sg_key_limits *site, char *why,
                        size_t why_len);

/* Strict parsers: decimal with an optional '-', no blanks or junk; "true" or
 * "false" in any case. Return 0, -EINVAL, or -ERANGE beyond int64_t. */
int sg_key_parse_int(const char *s, int64_t *out);
int sg_key_parse_bool(const char *s, bool *out);

#endif
