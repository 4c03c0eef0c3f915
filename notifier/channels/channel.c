/* channel.c - the table of IM channels, looked up by name (notifier_channel, users.im_channel). */
#include "channel.h"

#include <stdio.h>
#include <string.h>

static const pp_channel_ops_t *const channels[] = {&pp_channel_xmpp, &pp_channel_sink};

const pp_channel_ops_t *pp_channel_find(const char *name)
{
    for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++)
        if (name && strcmp(channels[i]->name, name) == 0)
            return channels[i];
    return NULL;
}

void pp_channel_names(char *out, size_t cap)
{
    size_t len = 0;
    if (!cap)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof channels / sizeof channels[0] && len < cap; i++) {
        int w = snprintf(out + len, cap - len, "%s%s%s", i ? ", " : "", channels[i]->name,
                         channels[i]->benchmark_only ? " (benchmark only)" : "");
        if (w < 0)
            break;
        len += (size_t)w;
    }
}
