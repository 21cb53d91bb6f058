/* sitegate-smartcharge's contact with the world: the bus (the Central System's calls,
 * transactions, hardware, meters in; limits and the site's share out), the database
 * (<state_dir>/smartcharge/smartcharge.db: profiles, running transactions and the
 * smart charging keys, SG_STORE_DURABLE), and the timer of the next period boundary. */
#ifndef SC_SMARTCHARGE_IO_H
#define SC_SMARTCHARGE_IO_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "sitegate/keys.h"
#include "sitegate/service.h"

#include "smartcharge.h"

struct sc_io {
	struct sg_service *svc; /* borrowed */
	struct sc_core core;
	struct sg_keys *keys;
	sqlite3 *db;
	uint64_t timer;
	bool pending; /* recompute before the loop sleeps */
	bool share_published;
	struct sg_msg_site_share share;
};

/* Opens the database, restores profiles and transactions, serves the keys, subscribes and
 * claims the smart charging actions. Returns 0 or a negative errno (logged). */
int sc_io_init(struct sc_io *io, struct sg_service *svc);
/* After the loop has stopped, before the bus goes. Accepts a failed or zeroed init. */
void sc_io_fini(struct sc_io *io);

#endif
