//! The rows of the command table.

use super::flags::*;
use super::{keys, strings, CommandSpec, Cross, Merge, Route, ServerCmd};

macro_rules! row {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr,
     $acl:expr, $group:literal, $route:expr, $handler:expr, $summary:literal) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $keys.0,
            last_key: $keys.1,
            step: $keys.2,
            acl: $acl,
            group: $group,
            summary: $summary,
            route: $route,
            handler: $handler,
        }
    };
}

const NOKEYS: (i32, i32, i32) = (0, 0, 0);
const ONE: (i32, i32, i32) = (1, 1, 1);
const ALL: (i32, i32, i32) = (1, -1, 1);
const PAIRS: (i32, i32, i32) = (1, -1, 2);
const TWO: (i32, i32, i32) = (1, 2, 1);

const STR_R: &[&str] = &["@read", "@string", "@fast"];
const STR_W: &[&str] = &["@write", "@string", "@fast"];
const STR_WS: &[&str] = &["@write", "@string", "@slow"];
const KEY_R: &[&str] = &["@keyspace", "@read", "@fast"];
const KEY_W: &[&str] = &["@keyspace", "@write", "@fast"];
const KEY_WS: &[&str] = &["@keyspace", "@write", "@slow"];
const KEY_RS: &[&str] = &["@keyspace", "@read", "@slow"];
const CONN: &[&str] = &["@fast", "@connection"];
const SLOW_CONN: &[&str] = &["@slow", "@connection"];
const ADMIN_SLOW: &[&str] = &["@admin", "@slow", "@dangerous"];

use Route::{Broadcast, Local, Server, Split};

pub static COMMANDS: &[CommandSpec] = &[
    // Strings.
    row!("get", 2, READONLY | FAST, ONE, STR_R, "string", Local, Some(strings::get), "Returns the string value of a key."),
    row!("set", -3, WRITE | DENYOOM, ONE, STR_WS, "string", Local, Some(strings::set), "Sets the string value of a key, ignoring its type."),
    row!("setnx", 3, WRITE | DENYOOM | FAST, ONE, STR_W, "string", Local, Some(strings::setnx), "Set the string value of a key only when the key doesn't exist."),
    row!("setex", 4, WRITE | DENYOOM, ONE, STR_WS, "string", Local, Some(strings::setex), "Sets the string value and expiration time of a key."),
    row!("psetex", 4, WRITE | DENYOOM, ONE, STR_WS, "string", Local, Some(strings::psetex), "Sets both string value and expiration time in milliseconds of a key."),
    row!("getset", 3, WRITE | DENYOOM | FAST, ONE, STR_W, "string", Local, Some(strings::getset), "Returns the previous string value of a key after setting it to a new value."),
    row!("getdel", 2, WRITE | FAST, ONE, STR_W, "string", Local, Some(strings::getdel), "Returns the string value of a key after deleting the key."),
    row!("getex", -2, WRITE | FAST, ONE, STR_W, "string", Local, Some(strings::getex), "Returns the string value of a key after setting its expiration time."),
    row!("mget", -2, READONLY | FAST, ALL, STR_R, "string", Split(Merge::Positional), Some(strings::mget), "Atomically returns the string values of one or more keys."),
    row!("mset", -3, WRITE | DENYOOM, PAIRS, STR_WS, "string", Split(Merge::AllOk), Some(strings::mset), "Atomically creates or modifies the string values of one or more keys."),
    row!("msetnx", -3, WRITE | DENYOOM, PAIRS, STR_WS, "string", Route::Cross(Cross::MsetNx), Some(strings::msetnx), "Atomically modifies the string values of one or more keys only when all keys don't exist."),
    row!("incr", 2, WRITE | DENYOOM | FAST, ONE, STR_W, "string", Local, Some(strings::incr), "Increments the integer value of a key by one."),
    row!("decr", 2, WRITE | DENYOOM | FAST, ONE, STR_W, "string", Local, Some(strings::decr), "Decrements the integer value of a key by one."),
    row!("incrby", 3, WRITE | DENYOOM | FAST, ONE, STR_W, "string", Local, Some(strings::incrby), "Increments the integer value of a key by a number."),
    row!("decrby", 3, WRITE | DENYOOM | FAST, ONE, STR_W, "string", Local, Some(strings::decrby), "Decrements a number from the integer value of a key."),
    row!("incrbyfloat", 3, WRITE | DENYOOM | FAST, ONE, STR_W, "string", Local, Some(strings::incrbyfloat), "Increment the floating point value of a key by a number."),
    row!("append", 3, WRITE | DENYOOM | FAST, ONE, STR_W, "string", Local, Some(strings::append), "Appends a string to the value of a key."),
    row!("strlen", 2, READONLY | FAST, ONE, STR_R, "string", Local, Some(strings::strlen), "Returns the length of a string value."),
    row!("getrange", 4, READONLY, ONE, STR_R, "string", Local, Some(strings::getrange), "Returns a substring of the string stored at a key."),
    row!("substr", 4, READONLY, ONE, STR_R, "string", Local, Some(strings::getrange), "Returns a substring from a string value."),
    row!("setrange", 4, WRITE | DENYOOM, ONE, STR_WS, "string", Local, Some(strings::setrange), "Overwrites a part of a string value with another by an offset."),
    row!("lcs", -3, READONLY, TWO, STR_R, "string", Route::Cross(Cross::Lcs), Some(strings::lcs), "Finds the longest common substring."),
    // Keys.
    row!("del", -2, WRITE, ALL, KEY_WS, "generic", Split(Merge::Sum), Some(keys::del), "Deletes one or more keys."),
    row!("unlink", -2, WRITE | FAST, ALL, KEY_W, "generic", Split(Merge::Sum), Some(keys::del), "Asynchronously deletes one or more keys."),
    row!("exists", -2, READONLY | FAST, ALL, KEY_R, "generic", Split(Merge::Sum), Some(keys::exists), "Determines whether one or more keys exist."),
    row!("touch", -2, READONLY | FAST, ALL, KEY_R, "generic", Split(Merge::Sum), Some(keys::touch), "Returns the number of existing keys out of those specified after updating the time they were last accessed."),
    row!("type", 2, READONLY | FAST, ONE, KEY_R, "generic", Local, Some(keys::type_), "Determines the type of value stored at a key."),
    row!("expire", -3, WRITE | FAST, ONE, KEY_W, "generic", Local, Some(keys::expire), "Sets the expiration time of a key in seconds."),
    row!("pexpire", -3, WRITE | FAST, ONE, KEY_W, "generic", Local, Some(keys::pexpire), "Sets the expiration time of a key in milliseconds."),
    row!("expireat", -3, WRITE | FAST, ONE, KEY_W, "generic", Local, Some(keys::expireat), "Sets the expiration time of a key to a Unix timestamp."),
    row!("pexpireat", -3, WRITE | FAST, ONE, KEY_W, "generic", Local, Some(keys::pexpireat), "Sets the expiration time of a key to a Unix milliseconds timestamp."),
    row!("ttl", 2, READONLY | FAST, ONE, KEY_R, "generic", Local, Some(keys::ttl), "Returns the expiration time in seconds of a key."),
    row!("pttl", 2, READONLY | FAST, ONE, KEY_R, "generic", Local, Some(keys::pttl), "Returns the expiration time in milliseconds of a key."),
    row!("expiretime", 2, READONLY | FAST, ONE, KEY_R, "generic", Local, Some(keys::expiretime), "Returns the expiration time of a key as a Unix timestamp."),
    row!("pexpiretime", 2, READONLY | FAST, ONE, KEY_R, "generic", Local, Some(keys::pexpiretime), "Returns the expiration time of a key as a Unix milliseconds timestamp."),
    row!("persist", 2, WRITE | FAST, ONE, KEY_W, "generic", Local, Some(keys::persist), "Removes the expiration time of a key."),
    row!("rename", 3, WRITE, TWO, KEY_WS, "generic", Route::Cross(Cross::Rename), Some(keys::rename), "Renames a key and overwrites the destination."),
    row!("renamenx", 3, WRITE | FAST, TWO, KEY_W, "generic", Route::Cross(Cross::RenameNx), Some(keys::renamenx), "Renames a key only when the target key name doesn't exist."),
    row!("copy", -3, WRITE | DENYOOM, TWO, KEY_WS, "generic", Route::Cross(Cross::Copy), Some(keys::copy), "Copies the value of a key to a new key."),
    row!("move", 3, WRITE | FAST, ONE, KEY_W, "generic", Local, Some(keys::move_), "Moves a key to another database."),
    row!("keys", 2, READONLY, NOKEYS, &["@keyspace", "@read", "@slow", "@dangerous"], "generic", Broadcast(Merge::Concat), Some(keys::keys), "Returns all key names that match a pattern."),
    row!("scan", -2, READONLY, NOKEYS, KEY_RS, "generic", Server(ServerCmd::Scan), Some(keys::scan), "Iterates over the key names in the database."),
    row!("randomkey", 1, READONLY, NOKEYS, KEY_RS, "generic", Server(ServerCmd::RandomKey), Some(keys::randomkey), "Returns a random key name from the database."),
    row!("dbsize", 1, READONLY | FAST, NOKEYS, KEY_R, "server", Broadcast(Merge::Sum), Some(keys::dbsize), "Returns the number of keys in the database."),
    row!("flushdb", -1, WRITE, NOKEYS, &["@keyspace", "@write", "@slow", "@dangerous"], "server", Broadcast(Merge::AllOk), Some(keys::flushdb), "Remove all keys from the current database."),
    row!("flushall", -1, WRITE, NOKEYS, &["@keyspace", "@write", "@slow", "@dangerous"], "server", Broadcast(Merge::AllOk), Some(keys::flushall), "Removes all keys from all databases."),
    row!("swapdb", 3, WRITE | FAST, NOKEYS, &["@keyspace", "@write", "@fast", "@dangerous"], "server", Broadcast(Merge::AllOk), Some(keys::swapdb), "Swaps two Redis databases."),
    row!("object", -2, READONLY, (2, 2, 1), KEY_RS, "generic", Local, Some(keys::object), "A container for object introspection commands."),
    // Connection and server.
    row!("ping", -1, FAST | STALE, NOKEYS, CONN, "connection", Server(ServerCmd::Ping), None, "Returns the server's liveliness response."),
    row!("echo", 2, FAST | STALE, NOKEYS, CONN, "connection", Server(ServerCmd::Echo), None, "Returns the given string."),
    row!("quit", -1, ALLOW_BUSY | NO_AUTH | LOADING | STALE | FAST, NOKEYS, CONN, "connection", Server(ServerCmd::Quit), None, "Closes the connection."),
    row!("reset", 1, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST, NOKEYS, CONN, "connection", Server(ServerCmd::Reset), None, "Resets the connection."),
    row!("hello", -1, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST, NOKEYS, CONN, "connection", Server(ServerCmd::Hello), None, "Handshakes with the Redis server."),
    row!("select", 2, LOADING | STALE | FAST, NOKEYS, CONN, "connection", Server(ServerCmd::Select), None, "Changes the selected database."),
    row!("auth", -2, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST, NOKEYS, CONN, "connection", Server(ServerCmd::Auth), None, "Authenticates the connection."),
    row!("client", -2, NOSCRIPT | LOADING | STALE, NOKEYS, SLOW_CONN, "connection", Server(ServerCmd::Client), None, "A container for client connection commands."),
    row!("info", -1, LOADING | STALE, NOKEYS, &["@slow", "@dangerous"], "server", Server(ServerCmd::Info), None, "Returns information and statistics about the server."),
    row!("config", -2, ADMIN | NOSCRIPT | LOADING | STALE, NOKEYS, ADMIN_SLOW, "server", Server(ServerCmd::Config), None, "A container for server configuration commands."),
    row!("time", 1, LOADING | STALE | FAST, NOKEYS, &["@fast"], "server", Server(ServerCmd::Time), None, "Returns the server time."),
    row!("lastsave", 1, LOADING | STALE | FAST, NOKEYS, &["@fast", "@admin", "@dangerous"], "server", Server(ServerCmd::LastSave), None, "Returns the Unix timestamp of the last successful save to disk."),
    row!("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, NOKEYS, ADMIN_SLOW, "server", Server(ServerCmd::Debug), None, "A container for debugging commands."),
    row!("command", -1, LOADING | STALE, NOKEYS, &["@slow", "@connection"], "server", Server(ServerCmd::Command), None, "Returns detailed information about all commands."),
];
