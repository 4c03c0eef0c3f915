/* main.c - pp-notifier: the daemon frame (common/daemon.h) with the notifier's hooks (hooks.c). */
#include "daemon.h"
#include "notifier.h"

int main(int argc, char **argv) { return pp_daemon_main(argc, argv, &pp_notifier_hooks); }
