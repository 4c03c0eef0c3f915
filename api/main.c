/* main.c - pp-api launcher; the rest is in server.c and the route files. */
#include "api.h"
#include "launch.h"

int main(int argc, char **argv)
{
    return pp_launch(argc, argv, "pp-api",
                     "The HTTP API: marketplace feed, seller WebAPI, payment cards, buyer settings.",
                     pp_api_run);
}
