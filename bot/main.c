/* main.c - pp-bot: the daemon frame (common/daemon.h) with the bot's hooks (bot.c). */
#include "bot.h"
#include "daemon.h"

int main(int argc, char **argv) { return pp_daemon_main(argc, argv, &pp_bot_hooks); }
