/* main.c - pp-api: the daemon frame (common/daemon.h) with the API's hooks (server.c). */
#include "api.h"
#include "daemon.h"

int main(int argc, char **argv) { return pp_daemon_main(argc, argv, &pp_api_hooks); }
