/* main.c - pp-poller launcher; the rest is in poller.c. */
#include "launch.h"
#include "poller.h"

int main(int argc, char **argv)
{
    return pp_launch(argc, argv, "pp-poller",
                     "Claims due shipments, polls carriers, writes key changes + outbox, relays to Kafka.",
                     pp_poller_run);
}
