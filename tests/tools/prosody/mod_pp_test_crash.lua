-- mod_pp_test_crash: a test fault for Prosody, never loaded outside tests.
--
-- While the file named by `pp_test_crash_file` exists, the Nth chat message from the account
-- `pp_test_crash_from` (a bare JID) that reaches its recipient's host (N: the number in the
-- file, 1 if none) ends the whole server process at once (os.exit: nothing more is handled or stored). mod_mam has archived the
-- sender's copy by then (its pre-message hook), and nothing is stored for the recipient yet
-- (mod_mam's and the offline store's message/bare hooks run after this one): the exact moment a
-- SIGKILL can cut a message in half. The file is removed first, so a restart does not crash again.
-- Used by tests/integration/notifier_server_crash.sh.
local jid_bare = require "util.jid".bare;

local trigger = module:get_option_string("pp_test_crash_file");
local from = module:get_option_string("pp_test_crash_from");

local seen = 0; -- messages counted since the file appeared

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
	local nth = tonumber(f:read("*l") or "") or 1;
	f:close();
	seen = seen + 1;
	if seen < nth then
		return;
	end
	os.remove(trigger);
	module:log("warn", "pp_test_crash: ending the server while routing %s to %s (message %d since the trigger)",
		tostring(stanza.attr.id), tostring(stanza.attr.to), seen);
	os.exit(137);
end, 1000);
