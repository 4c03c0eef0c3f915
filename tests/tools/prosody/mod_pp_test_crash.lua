-- mod_pp_test_crash: a test fault for Prosody, never loaded outside tests.
--
-- While the file named by `pp_test_crash_file` exists, the Nth chat message from the account
-- `pp_test_crash_from` (a bare JID) that reaches its recipient's host ends the whole server
-- process at once (os.exit: nothing more is handled or stored). The file holds "N" or
-- "N after" (N: 1 if none):
--   N        ends it before the recipient's store: mod_mam has archived the sender's copy (its
--            pre-message hook) and nothing is stored for the recipient yet (mod_mam's and the
--            offline store's message/bare hooks run after this one): the moment a SIGKILL
--            can cut a message in half.
--   N after  ends it right after mod_mam stored the recipient's copy (archive-message-added):
--            the message is complete, but its sender never heard back.
-- The file is removed first, so a restart does not crash again.
-- Used by tests/integration/notifier_server_crash.sh.
local jid_bare = require "util.jid".bare;

local trigger = module:get_option_string("pp_test_crash_file");
local from = module:get_option_string("pp_test_crash_from");

local seen = 0; -- messages counted since the file appeared
local cut_after = nil; -- id of the message to end the server after, once stored

local function crash(stanza, where)
	module:log("warn", "pp_test_crash: ending the server %s %s to %s (message %d since the trigger)",
		where, tostring(stanza.attr.id), tostring(stanza.attr.to), seen);
	os.exit(137);
end

module:hook("message/bare", function(event)
	local stanza = event.stanza;
	if not trigger or stanza.attr.type ~= "chat" or jid_bare(stanza.attr.from or "") ~= from then
		return;
	end
	local f = io.open(trigger, "r");
	if not f then
		seen = 0;
		return;
	end
	local line = f:read("*l") or "";
	f:close();
	local nth = tonumber(line:match("^%s*(%d+)") or "") or 1;
	seen = seen + 1;
	if seen < nth then
		return;
	end
	os.remove(trigger);
	if line:match("after") then
		cut_after = stanza.attr.id;
		return;
	end
	crash(stanza, "while routing");
end, 1000);

module:hook("archive-message-added", function(event)
	local stanza = event.stanza;
	if cut_after and stanza.attr.id == cut_after and jid_bare(stanza.attr.from or "") == from
		and event.for_user ~= (from:match("^([^@]+)@") or "") then
		crash(stanza, "after storing");
	end
end);
