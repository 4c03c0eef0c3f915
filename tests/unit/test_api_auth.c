/* test_api_auth.c - pp-api's failed-authentication limits (api/auth.c): per address, per network (IPv4 /24, IPv6 /48), all clients. */
#include "api.h"
#include "check.h"

#include <stdlib.h>

static pp_api_t api;

/* n unknown keys, one from each peer "<prefix><first + i><suffix>": how many were allowed. */
static int fails(const char *prefix, int first, const char *suffix, int n)
{
    int ok = 0;
    for (int i = 0; i < n; i++) {
        char peer[64];
        snprintf(peer, sizeof peer, strchr(prefix, ':') ? "%s%x%s" : "%s%d%s", prefix, first + i,
                 suffix);
        const char *what = NULL;
        int64_t wait_ms = pp_api_authfail_take(&api, peer, &what);
        ok += wait_ms == 0;
        CHECK(wait_ms == 0 ? what == NULL : what != NULL && wait_ms > 0);
    }
    return ok;
}

int main(void)
{
    static const struct {
        const char *peer, *net;
    } nets[] = {
        {"203.0.113.7", "203.0.113.0/24"},
        {"127.0.0.1", "127.0.0.0/24"},
        {"2001:db8:1:2::/64", "2001:db8:1::/48"},
        {"2001:db8:aaaa:ffff::/64", "2001:db8:aaaa::/48"},
        {"::1", "::/48"},
        {"unknown", "unknown"},
    };
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        char out[80];
        pp_api_peer_network(nets[i].peer, out, sizeof out);
        CHECK_STR(out, nets[i].net);
    }

    pp_config_t cfg;
    CHECK_INT(pp_config_init(&cfg), 0);
    cfg.api_auth_fail_per_min = cfg.api_auth_fail_net_per_min = cfg.api_auth_fail_global_per_min = 1;
    cfg.api_auth_fail_burst = 2;
    cfg.api_auth_fail_net_burst = 5;
    cfg.api_auth_fail_global_burst = 12;
    api.cfg = &cfg;
    api.loop = uv_default_loop(); /* its time does not move here: no refill */
    api.metrics = pp_metrics_new();

    /* one address: its burst of 2 */
    CHECK_INT(fails("2001:db8:1:", 0x10, "::/64", 1) + fails("2001:db8:1:", 0x10, "::/64", 1) +
                  fails("2001:db8:1:", 0x10, "::/64", 1),
              2);
    /* more /64s of the same /48: the network's burst of 5 in all (2 taken above) */
    CHECK_INT(fails("2001:db8:1:", 0x20, "::/64", 10), 3);
    /* a valid key gives its tokens back (address, network, all): one more from the /48 */
    pp_api_authfail_refund(&api, "2001:db8:1:21::/64");
    CHECK_INT(fails("2001:db8:1:", 0x30, "::/64", 2), 1);
    /* IPv4: one /24 (its own burst of 5), then many /24s: what is left of all clients'
     * burst of 12 (12 - 2 - 3 + 1 refunded - 1 - 5 = 2) */
    CHECK_INT(fails("198.51.100.", 1, "", 10), 5);
    CHECK_INT(fails("10.0.", 1, ".1", 20), 2);
    CHECK_INT(fails("2001:db8:", 0x100, "::/64", 20), 0); /* many /48s: nothing left for anyone */

    pp_metrics_free(api.metrics);
    free(api.rl_fail);
    free(api.rl_fail_net);
    pp_config_free(&cfg);
    return CHECK_DONE();
}
