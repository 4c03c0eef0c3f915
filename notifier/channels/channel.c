/* channel.c - the table of IM channels, looked up by users.im_channel. */
#include "channel.h"

#include <string.h>

static const pp_channel_ops_t *const channels[] = {&pp_channel_xmpp};

const pp_channel_ops_t *pp_channel_find(const char *name)
{
    for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++)
        if (name && strcmp(channels[i]->name, name) == 0)
            return channels[i];
    return NULL;
}
