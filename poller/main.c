/* main.c - pp-poller: the daemon frame (common/daemon.h) with the poller's hooks (poller.c). */
#include "daemon.h"
#include "poller.h"

int main(int argc, char **argv) { return pp_daemon_main(argc, argv, &pp_poller_hooks); }
