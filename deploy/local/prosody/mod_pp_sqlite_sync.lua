-- mod_pp_sqlite_sync.lua - the local stack's Prosody only (deploy/local/stack): its SQLite
-- storage (mod_storage_sql) commits with a lighter PRAGMA synchronous than SQLite's FULL: the
-- option pp_sqlite_synchronous (the stack sets OFF; default here NORMAL).
--
-- Why. Prosody commits once per store a message touches (the sender's archive, the
-- recipient's archive, the offline store): with FULL, in WAL mode, every commit is an fsync
-- of the WAL, and the stack's IM server was bound by the disk, not by its CPU. With NORMAL a
-- commit is a write(), but each checkpoint still syncs, and Prosody's one thread waits there;
-- with OFF nothing waits for the disk. Either survives a kill of Prosody (the tests' and the
-- chaos run's crashes). Neither survives a power cut or an OS crash: NORMAL may lose the last
-- commits, OFF may corrupt the database file (then: `stack stop`, delete STATE/prosody/data,
-- `stack start`, register the accounts again). A production server keeps its stores in
-- PostgreSQL (docs/operations.md, "The IM server"), where this does not apply.
--
-- How. mod_storage_sql keeps its engines in a table shared under "/*/sql/connections" and
-- connects lazily; each engine's onconnect is wrapped so that every (re)connection sets the
-- pragma, outside a transaction (SQLite refuses to change it inside one), and an engine
-- already connected gets it at once. Engines appear when the first store is opened, so this
-- runs at load and again once the server has started.
local level = module:get_option_string("pp_sqlite_synchronous", "NORMAL"); -- checked by the stack
local engines = module:shared("/*/sql/connections");

local function apply(engine)
	local conn = engine.conn;
	conn:autocommit(true);
	local ok, err = pcall(function()
		local stmt = assert(conn:prepare("PRAGMA synchronous = " .. level));
		assert(stmt:execute());
		stmt:close();
	end);
	conn:autocommit(false);
	if ok then
		module:log("info", "SQLite %s: synchronous = %s", engine.params.database, level);
	else
		module:log("error", "SQLite %s: cannot set synchronous = %s: %s", engine.params.database, level, err);
	end
end

local function tune_all()
	for _, engine in pairs(engines) do
		if engine.params and engine.params.driver == "SQLite3" and not engine.pp_sync then
			engine.pp_sync = true;
			local onconnect = engine.onconnect;
			engine.onconnect = function(e)
				apply(e);
				return onconnect(e);
			end
			if engine.conn then
				apply(engine);
			end
		end
	end
end

tune_all();
module:hook_global("server-started", tune_all);
