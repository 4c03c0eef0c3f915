-- mod_pp_delivery: lets a parcelpush notifier ask whether a message it sent was stored for its
-- recipient, so that a message the server may have died with halfway is decided exactly.
--
-- Why. Prosody archives the sender's copy of a message (mod_mam, pre-message) before it stores
-- the recipient's (mod_mam and the offline store, message/bare). A server killed in between
-- leaves a message the bot's archive lists but the buyer never gets. The notifier knows which
-- one message per broken connection can be in that state (notifier/channels/unconfirmed.h);
-- the standard protocol cannot tell it whether the buyer's store has it. This module can:
--
--   <iq type='get' to='HOST' id='…'>
--     <stored xmlns='urn:parcelpush:delivery:0' with='buyer@HOST' id='MESSAGE-ID' since='UNIX'/>
--   </iq>
--
-- is answered <stored xmlns='urn:parcelpush:delivery:0' found='true|false'/>: whether the
-- recipient's archive (XEP-0313) holds a message from the asker whose id attribute or XEP-0359
-- origin-id is MESSAGE-ID, archived between `since` and `since` + pp_delivery_window (600 s).
-- found='unknown' (with a reason) when the archive cannot say: the recipient's archive
-- preferences do not keep messages from the asker, or more than pp_delivery_scan_max (1000)
-- messages from the asker in that window. Errors: forbidden (the asker is not in
-- pp_delivery_askers), bad-request, item-not-found (the recipient is not an account of this
-- host), wait/internal-server-error (the archive could not be read: ask again later). The
-- notifier sends the question to the recipient's domain.
--
-- Only the accounts named in pp_delivery_askers (bare JIDs: the notifiers' accounts) may ask,
-- and only about messages they sent themselves. "*@HOST" lets every account of HOST ask (the
-- local test stack, whose tests each run their notifier as its own account); never in
-- production, where buyers have accounts there: an answer tells whether an account exists and
-- whether its archive keeps messages from the asker. Each question reads at most
-- pp_delivery_scan_max + 1 archive rows of one recipient within the window. The buyer's archive is the record: a crash right after it and before
-- the offline store leaves the message to clients that read the archive (XEP-0313), not to
-- those that only take offline messages. Load it on the host of the buyers' accounts:
--
--   plugin_paths = { "/usr/share/parcelpush/prosody" }  -- where deploy/prosody is installed
--   modules_enabled = { …; "mam"; "pp_delivery"; }
--   pp_delivery_askers = { "parcelpush@example.com" }
--
-- Without it the notifier logs such a message as in doubt and follows notifier_resend_in_doubt.
local jid = require "util.jid";
local st = require "util.stanza";
local um = require "core.usermanager";

local xmlns = "urn:parcelpush:delivery:0";
local xmlns_sid = "urn:xmpp:sid:0";
local host = module.host;
local askers = module:get_option_set("pp_delivery_askers", {}) / function(j)
	return j:sub(1, 2) == "*@" and j or jid.prep(j);
end;
local scan_max = module:get_option_number("pp_delivery_scan_max", 1000);
local window = module:get_option_number("pp_delivery_window", 600); -- s searched after `since`
module:depends("mam"); -- the archive this module reads is mod_mam's
local archive_store = module:get_option_string("archive_store", "archive");
local archive = module:open_store(archive_store, "archive");
local prefs_store = module:open_store(archive_store .. "_prefs");

local default_policy = module:get_option_string("default_archive_policy", true);
if default_policy ~= "roster" then
	default_policy = module:get_option_boolean("default_archive_policy", default_policy);
end

-- Does mod_mam keep user's messages from `with` (its shall_store rule, without the roster case)?
local function archives(user, with)
	local prefs = prefs_store:get(user);
	local rule = prefs and prefs[with];
	if rule == nil then
		rule = prefs and prefs[false];
	end
	if rule == nil then
		if module:get_option_boolean("mam_smart_enable", false) then
			return false;
		end
		rule = default_policy;
	end
	return rule == true;
end

local function has_id(item, id)
	if item.attr.id == id then
		return true;
	end
	local oid = item:get_child("origin-id", xmlns_sid);
	return oid ~= nil and oid.attr.id == id;
end

local function answer(origin, stanza, found, reason)
	origin.send(st.reply(stanza):tag("stored", { xmlns = xmlns, found = found, reason = reason }));
	return true;
end

module:hook("iq-get/host/" .. xmlns .. ":stored", function(event)
	local origin, stanza = event.origin, event.stanza;
	local q = stanza.tags[1];
	local asker = origin.type == "c2s" and origin.username and jid.join(origin.username, origin.host);
	if not asker or not (askers:contains(asker) or askers:contains("*@" .. origin.host)) then
		origin.send(st.error_reply(stanza, "auth", "forbidden", "not a parcelpush notifier account (pp_delivery_askers)"));
		return true;
	end
	local with = jid.prep(q.attr.with or "");
	local id, since = q.attr.id, tonumber(q.attr.since or "");
	if not with or not id or id == "" or not since then
		origin.send(st.error_reply(stanza, "modify", "bad-request", "needs with, id and since"));
		return true;
	end
	local user, whost = jid.split(with);
	if not user or whost ~= host or not um.user_exists(user, host) then
		origin.send(st.error_reply(stanza, "cancel", "item-not-found", "not an account of " .. host));
		return true;
	end
	if not archives(user, asker) then
		return answer(origin, stanza, "unknown", "the recipient's archive does not keep messages from " .. asker);
	end
	-- Oldest first from `since` (the notifier's archive time of the message, minus a margin):
	-- the buyer's copy is stored right after the bot's, so it is near the start.
	local items, err = archive:find(user, { with = asker, start = since, ["end"] = since + window,
		limit = scan_max + 1 });
	if not items then
		module:log("warn", "archive of %s not readable: %s", with, tostring(err));
		origin.send(st.error_reply(stanza, "wait", "internal-server-error", "archive not readable"));
		return true;
	end
	local seen = 0;
	for _, item in items do
		seen = seen + 1;
		-- from the asker: a message the buyer wrote to the asker is filed under it too
		if st.is_stanza(item) and jid.bare(item.attr.from or "") == asker and has_id(item, id) then
			return answer(origin, stanza, "true");
		end
	end
	if seen > scan_max then
		return answer(origin, stanza, "unknown", "more than " .. scan_max .. " messages to search");
	end
	return answer(origin, stanza, "false");
end);

module:add_feature(xmlns);
