//! The rows of the command table.

use super::flags::*;
use super::{
    bitmaps, debug, dump, geo, hashes, hll, keys, lists, memory, sets, sort, streams, strings,
    zsets, CommandSpec, Cross, KeyScheme, Merge, Route,
};

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
            keys: $keys.3,
            acl: $acl,
            group: $group,
            summary: $summary,
            route: $route,
            handler: $handler,
        }
    };
}

/// Key columns (first, last, step) and how to find movable keys.
type Keys = (i32, i32, i32, KeyScheme);
const NOKEYS: Keys = (0, 0, 0, KeyScheme::Range);
const ONE: Keys = (1, 1, 1, KeyScheme::Range);
const ALL: Keys = (1, -1, 1, KeyScheme::Range);
const PAIRS: Keys = (1, -1, 2, KeyScheme::Range);
const TWO: Keys = (1, 2, 1, KeyScheme::Range);
/// Every argument but the last (a timeout): BLPOP, BZPOPMIN.
const ALL_BUT_LAST: Keys = (1, -2, 1, KeyScheme::Range);
/// Every argument from the second (BITOP op dest src...).
const FROM_TWO: Keys = (2, -1, 1, KeyScheme::Range);
const NUMKEYS_AT_1: Keys = (0, 0, 0, KeyScheme::NumKeysAt(1));
const NUMKEYS_AT_2: Keys = (0, 0, 0, KeyScheme::NumKeysAt(2));
const DEST_NUMKEYS: Keys = (1, 1, 1, KeyScheme::DestNumKeys);
const STORE_OPT: Keys = (1, 1, 1, KeyScheme::StoreOption);
/// The second argument (XGROUP CREATE key ..., XINFO STREAM key).
const SECOND: Keys = (2, 2, 1, KeyScheme::Range);
/// After XREAD / XREADGROUP's STREAMS option.
const STREAM_KEYS: Keys = (0, 0, 0, KeyScheme::Streams);

const STR_R: &[&str] = &["@read", "@string", "@fast"];
const STR_W: &[&str] = &["@write", "@string", "@fast"];
const STR_WS: &[&str] = &["@write", "@string", "@slow"];
const KEY_R: &[&str] = &["@keyspace", "@read", "@fast"];
const KEY_W: &[&str] = &["@keyspace", "@write", "@fast"];
const KEY_WS: &[&str] = &["@keyspace", "@write", "@slow"];
const KEY_RS: &[&str] = &["@keyspace", "@read", "@slow"];
const KEY_WSD: &[&str] = &["@keyspace", "@write", "@slow", "@dangerous"];
const CONN: &[&str] = &["@fast", "@connection"];
const ADMIN_SLOW: &[&str] = &["@admin", "@slow", "@dangerous"];
const LIST_R: &[&str] = &["@read", "@list", "@fast"];
const LIST_W: &[&str] = &["@write", "@list", "@fast"];
const LIST_RS: &[&str] = &["@read", "@list", "@slow"];
const LIST_WS: &[&str] = &["@write", "@list", "@slow"];
const LIST_B: &[&str] = &["@write", "@list", "@slow", "@blocking"];
const HASH_R: &[&str] = &["@read", "@hash", "@fast"];
const HASH_W: &[&str] = &["@write", "@hash", "@fast"];
const HASH_RS: &[&str] = &["@read", "@hash", "@slow"];
const SET_R: &[&str] = &["@read", "@set", "@fast"];
const SET_W: &[&str] = &["@write", "@set", "@fast"];
const SET_RS: &[&str] = &["@read", "@set", "@slow"];
const SET_WS: &[&str] = &["@write", "@set", "@slow"];
const ZSET_R: &[&str] = &["@read", "@sortedset", "@fast"];
const ZSET_W: &[&str] = &["@write", "@sortedset", "@fast"];
const ZSET_RS: &[&str] = &["@read", "@sortedset", "@slow"];
const ZSET_WS: &[&str] = &["@write", "@sortedset", "@slow"];
const ZSET_B: &[&str] = &["@write", "@sortedset", "@slow", "@blocking"];
const HLL_W: &[&str] = &["@write", "@hyperloglog", "@fast"];
const HLL_RS: &[&str] = &["@read", "@hyperloglog", "@slow"];
const HLL_WS: &[&str] = &["@write", "@hyperloglog", "@slow"];
const BIT_R: &[&str] = &["@read", "@bitmap", "@fast"];
const BIT_W: &[&str] = &["@write", "@bitmap", "@slow"];
const BIT_RS: &[&str] = &["@read", "@bitmap", "@slow"];
const GEO_W: &[&str] = &["@write", "@geo", "@slow"];
const GEO_R: &[&str] = &["@read", "@geo", "@slow"];
const SORT_W: &[&str] = &[
    "@write",
    "@set",
    "@sortedset",
    "@list",
    "@slow",
    "@dangerous",
];
const SORT_R: &[&str] = &[
    "@read",
    "@set",
    "@sortedset",
    "@list",
    "@slow",
    "@dangerous",
];
const STREAM_R: &[&str] = &["@read", "@stream", "@fast"];
const STREAM_W: &[&str] = &["@write", "@stream", "@fast"];
const STREAM_RS: &[&str] = &["@read", "@stream", "@slow"];
const STREAM_WS: &[&str] = &["@write", "@stream", "@slow"];
const STREAM_RB: &[&str] = &["@read", "@stream", "@slow", "@blocking"];
const STREAM_WB: &[&str] = &["@write", "@stream", "@slow", "@blocking"];
const GATHER: Route = Route::Cross(Cross::Gather);

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
    row!("getrange", 4, READONLY, ONE, &["@read", "@string", "@slow"], "string", Local, Some(strings::getrange), "Returns a substring of the string stored at a key."),
    row!("substr", 4, READONLY, ONE, &["@read", "@string", "@slow"], "string", Local, Some(strings::getrange), "Returns a substring from a string value."),
    row!("setrange", 4, WRITE | DENYOOM, ONE, STR_WS, "string", Local, Some(strings::setrange), "Overwrites a part of a string value with another by an offset."),
    row!("lcs", -3, READONLY, TWO, &["@read", "@string", "@slow"], "string", Route::Cross(Cross::Lcs), Some(strings::lcs), "Finds the longest common substring."),
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
    row!("copy", -3, WRITE | DENYOOM | DB_OPTION, TWO, KEY_WS, "generic", Route::Cross(Cross::Copy), Some(keys::copy), "Copies the value of a key to a new key."),
    row!("move", 3, WRITE | FAST | OTHER_DB, ONE, KEY_W, "generic", Local, Some(keys::move_), "Moves a key to another database."),
    row!("keys", 2, READONLY, NOKEYS, &["@keyspace", "@read", "@slow", "@dangerous"], "generic", Broadcast(Merge::Concat), Some(keys::keys), "Returns all key names that match a pattern."),
    row!("scan", -2, READONLY, NOKEYS, KEY_RS, "generic", Server, Some(keys::scan), "Iterates over the key names in the database."),
    row!("randomkey", 1, READONLY, NOKEYS, KEY_RS, "generic", Server, Some(keys::randomkey), "Returns a random key name from the database."),
    row!("dbsize", 1, READONLY | FAST, NOKEYS, KEY_R, "server", Broadcast(Merge::Sum), Some(keys::dbsize), "Returns the number of keys in the database."),
    row!("flushdb", -1, WRITE, NOKEYS, &["@keyspace", "@write", "@slow", "@dangerous"], "server", Broadcast(Merge::AllOk), Some(keys::flushdb), "Remove all keys from the current database."),
    row!("flushall", -1, WRITE, NOKEYS, &["@keyspace", "@write", "@slow", "@dangerous"], "server", Broadcast(Merge::AllOk), Some(keys::flushall), "Removes all keys from all databases."),
    row!("swapdb", 3, WRITE | FAST | OTHER_DB, NOKEYS, &["@keyspace", "@write", "@fast", "@dangerous"], "server", Broadcast(Merge::AllOk), Some(keys::swapdb), "Swaps two Redis databases."),
    row!("object", -2, READONLY, (2, 2, 1, KeyScheme::Range), &["@slow"], "generic", Local, Some(keys::object), "A container for object introspection commands."),
    row!("dump", 2, READONLY, ONE, KEY_RS, "generic", Local, Some(dump::dump), "Returns a serialized representation of the value stored at a key."),
    row!("restore", -4, WRITE | DENYOOM, ONE, KEY_WSD, "generic", Local, Some(dump::restore), "Creates a key from the serialized representation of a value."),
    row!("restore-asking", -4, WRITE | DENYOOM | ASKING, ONE, KEY_WSD, "server", Local, Some(dump::restore), "An internal command for migrating keys in a cluster."),
    row!("migrate", -6, WRITE | MOVABLEKEYS, (3, 3, 1, KeyScheme::Migrate), KEY_WSD, "generic", Server, None, "Atomically transfers a key from one Redis instance to another."),
    // Lists.
    row!("lpush", -3, WRITE | DENYOOM | FAST, ONE, LIST_W, "list", Local, Some(lists::lpush), "Prepends one or more elements to a list. Creates the key if it doesn't exist."),
    row!("rpush", -3, WRITE | DENYOOM | FAST, ONE, LIST_W, "list", Local, Some(lists::rpush), "Appends one or more elements to a list. Creates the key if it doesn't exist."),
    row!("lpushx", -3, WRITE | DENYOOM | FAST, ONE, LIST_W, "list", Local, Some(lists::lpushx), "Prepends one or more elements to a list only when the list exists."),
    row!("rpushx", -3, WRITE | DENYOOM | FAST, ONE, LIST_W, "list", Local, Some(lists::rpushx), "Appends an element to a list only when the list exists."),
    row!("lpop", -2, WRITE | FAST, ONE, LIST_W, "list", Local, Some(lists::lpop), "Returns the first elements in a list after removing it. Deletes the list if the last element was popped."),
    row!("rpop", -2, WRITE | FAST, ONE, LIST_W, "list", Local, Some(lists::rpop), "Returns and removes the last elements of a list. Deletes the list if the last element was popped."),
    row!("llen", 2, READONLY | FAST, ONE, LIST_R, "list", Local, Some(lists::llen), "Returns the length of a list."),
    row!("lrange", 4, READONLY, ONE, LIST_RS, "list", Local, Some(lists::lrange), "Returns a range of elements from a list."),
    row!("lindex", 3, READONLY, ONE, LIST_RS, "list", Local, Some(lists::lindex), "Returns an element from a list by its index."),
    row!("lset", 4, WRITE | DENYOOM, ONE, LIST_WS, "list", Local, Some(lists::lset), "Sets the value of an element in a list by its index."),
    row!("linsert", 5, WRITE | DENYOOM, ONE, LIST_WS, "list", Local, Some(lists::linsert), "Inserts an element before or after another element in a list."),
    row!("lrem", 4, WRITE, ONE, LIST_WS, "list", Local, Some(lists::lrem), "Removes elements from a list. Deletes the list if the last element was removed."),
    row!("ltrim", 4, WRITE, ONE, LIST_WS, "list", Local, Some(lists::ltrim), "Removes elements from both ends a list. Deletes the list if all elements were trimmed."),
    row!("lpos", -3, READONLY, ONE, LIST_RS, "list", Local, Some(lists::lpos), "Returns the index of matching elements in a list."),
    row!("lmove", 5, WRITE | DENYOOM, TWO, LIST_WS, "list", GATHER, Some(lists::lmove), "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved."),
    row!("rpoplpush", 3, WRITE | DENYOOM, TWO, LIST_WS, "list", GATHER, Some(lists::rpoplpush), "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped."),
    row!("lmpop", -4, WRITE | MOVABLEKEYS, NUMKEYS_AT_1, LIST_WS, "list", GATHER, Some(lists::lmpop), "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped."),
    row!("blpop", -3, WRITE | NOSCRIPT | BLOCKING, ALL_BUT_LAST, LIST_B, "list", GATHER, Some(lists::blpop), "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped."),
    row!("brpop", -3, WRITE | NOSCRIPT | BLOCKING, ALL_BUT_LAST, LIST_B, "list", GATHER, Some(lists::brpop), "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped."),
    row!("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, TWO, LIST_B, "list", GATHER, Some(lists::blmove), "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved."),
    row!("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, TWO, LIST_B, "list", GATHER, Some(lists::brpoplpush), "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped."),
    row!("blmpop", -5, WRITE | BLOCKING | MOVABLEKEYS | TIMEOUT_FIRST, NUMKEYS_AT_2, LIST_B, "list", GATHER, Some(lists::blmpop), "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped."),
    // Hashes.
    row!("hset", -4, WRITE | DENYOOM | FAST, ONE, HASH_W, "hash", Local, Some(hashes::hset), "Creates or modifies the value of a field in a hash."),
    row!("hsetnx", 4, WRITE | DENYOOM | FAST, ONE, HASH_W, "hash", Local, Some(hashes::hsetnx), "Sets the value of a field in a hash only when the field doesn't exist."),
    row!("hget", 3, READONLY | FAST, ONE, HASH_R, "hash", Local, Some(hashes::hget), "Returns the value of a field in a hash."),
    row!("hmget", -3, READONLY | FAST, ONE, HASH_R, "hash", Local, Some(hashes::hmget), "Returns the values of all fields in a hash."),
    row!("hmset", -4, WRITE | DENYOOM | FAST, ONE, HASH_W, "hash", Local, Some(hashes::hset), "Sets the values of multiple fields."),
    row!("hdel", -3, WRITE | FAST, ONE, HASH_W, "hash", Local, Some(hashes::hdel), "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain."),
    row!("hlen", 2, READONLY | FAST, ONE, HASH_R, "hash", Local, Some(hashes::hlen), "Returns the number of fields in a hash."),
    row!("hstrlen", 3, READONLY | FAST, ONE, HASH_R, "hash", Local, Some(hashes::hstrlen), "Returns the length of the value of a field."),
    row!("hexists", 3, READONLY | FAST, ONE, HASH_R, "hash", Local, Some(hashes::hexists), "Determines whether a field exists in a hash."),
    row!("hkeys", 2, READONLY, ONE, HASH_RS, "hash", Local, Some(hashes::hkeys), "Returns all fields in a hash."),
    row!("hvals", 2, READONLY, ONE, HASH_RS, "hash", Local, Some(hashes::hvals), "Returns all values in a hash."),
    row!("hgetall", 2, READONLY, ONE, HASH_RS, "hash", Local, Some(hashes::hgetall), "Returns all fields and values in a hash."),
    row!("hincrby", 4, WRITE | DENYOOM | FAST, ONE, HASH_W, "hash", Local, Some(hashes::hincrby), "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist."),
    row!("hincrbyfloat", 4, WRITE | DENYOOM | FAST, ONE, HASH_W, "hash", Local, Some(hashes::hincrbyfloat), "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist."),
    row!("hrandfield", -2, READONLY, ONE, HASH_RS, "hash", Local, Some(hashes::hrandfield), "Returns one or more random fields from a hash."),
    row!("hscan", -3, READONLY, ONE, HASH_RS, "hash", Local, Some(hashes::hscan), "Iterates over fields and values of a hash."),
    // Sets.
    row!("sadd", -3, WRITE | DENYOOM | FAST, ONE, SET_W, "set", Local, Some(sets::sadd), "Adds one or more members to a set. Creates the key if it doesn't exist."),
    row!("srem", -3, WRITE | FAST, ONE, SET_W, "set", Local, Some(sets::srem), "Removes one or more members from a set. Deletes the set if the last member was removed."),
    row!("scard", 2, READONLY | FAST, ONE, SET_R, "set", Local, Some(sets::scard), "Returns the number of members in a set."),
    row!("sismember", 3, READONLY | FAST, ONE, SET_R, "set", Local, Some(sets::sismember), "Determines whether a member belongs to a set."),
    row!("smismember", -3, READONLY | FAST, ONE, SET_R, "set", Local, Some(sets::smismember), "Determines whether multiple members belong to a set."),
    row!("smembers", 2, READONLY, ONE, SET_RS, "set", Local, Some(sets::smembers), "Returns all members of a set."),
    row!("spop", -2, WRITE | FAST, ONE, SET_W, "set", Local, Some(sets::spop), "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped."),
    row!("srandmember", -2, READONLY, ONE, SET_RS, "set", Local, Some(sets::srandmember), "Get one or multiple random members from a set"),
    row!("smove", 4, WRITE | FAST, TWO, SET_W, "set", GATHER, Some(sets::smove), "Moves a member from one set to another."),
    row!("sinter", -2, READONLY, ALL, SET_RS, "set", GATHER, Some(sets::sinter), "Returns the intersect of multiple sets."),
    row!("sintercard", -3, READONLY | MOVABLEKEYS, NUMKEYS_AT_1, SET_RS, "set", GATHER, Some(sets::sintercard), "Returns the number of members of the intersect of multiple sets."),
    row!("sinterstore", -3, WRITE | DENYOOM, ALL, SET_WS, "set", GATHER, Some(sets::sinterstore), "Stores the intersect of multiple sets in a key."),
    row!("sunion", -2, READONLY, ALL, SET_RS, "set", GATHER, Some(sets::sunion), "Returns the union of multiple sets."),
    row!("sunionstore", -3, WRITE | DENYOOM, ALL, SET_WS, "set", GATHER, Some(sets::sunionstore), "Stores the union of multiple sets in a key."),
    row!("sdiff", -2, READONLY, ALL, SET_RS, "set", GATHER, Some(sets::sdiff), "Returns the difference of multiple sets."),
    row!("sdiffstore", -3, WRITE | DENYOOM, ALL, SET_WS, "set", GATHER, Some(sets::sdiffstore), "Stores the difference of multiple sets in a key."),
    row!("sscan", -3, READONLY, ONE, SET_RS, "set", Local, Some(sets::sscan), "Iterates over members of a set."),
    // Sorted sets.
    row!("zadd", -4, WRITE | DENYOOM | FAST, ONE, ZSET_W, "sorted-set", Local, Some(zsets::zadd), "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist."),
    row!("zincrby", 4, WRITE | DENYOOM | FAST, ONE, ZSET_W, "sorted-set", Local, Some(zsets::zincrby), "Increments the score of a member in a sorted set."),
    row!("zrem", -3, WRITE | FAST, ONE, ZSET_W, "sorted-set", Local, Some(zsets::zrem), "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed."),
    row!("zcard", 2, READONLY | FAST, ONE, ZSET_R, "sorted-set", Local, Some(zsets::zcard), "Returns the number of members in a sorted set."),
    row!("zcount", 4, READONLY | FAST, ONE, ZSET_R, "sorted-set", Local, Some(zsets::zcount), "Returns the count of members in a sorted set that have scores within a range."),
    row!("zlexcount", 4, READONLY | FAST, ONE, ZSET_R, "sorted-set", Local, Some(zsets::zlexcount), "Returns the number of members in a sorted set within a lexicographical range."),
    row!("zscore", 3, READONLY | FAST, ONE, ZSET_R, "sorted-set", Local, Some(zsets::zscore), "Returns the score of a member in a sorted set."),
    row!("zmscore", -3, READONLY | FAST, ONE, ZSET_R, "sorted-set", Local, Some(zsets::zmscore), "Returns the score of one or more members in a sorted set."),
    row!("zrank", -3, READONLY | FAST, ONE, ZSET_R, "sorted-set", Local, Some(zsets::zrank), "Returns the index of a member in a sorted set ordered by ascending scores."),
    row!("zrevrank", -3, READONLY | FAST, ONE, ZSET_R, "sorted-set", Local, Some(zsets::zrevrank), "Returns the index of a member in a sorted set ordered by descending scores."),
    row!("zrange", -4, READONLY, ONE, ZSET_RS, "sorted-set", Local, Some(zsets::zrange), "Returns members in a sorted set within a range of indexes."),
    row!("zrangestore", -5, WRITE | DENYOOM, TWO, ZSET_WS, "sorted-set", GATHER, Some(zsets::zrangestore), "Stores a range of members from sorted set in a key."),
    row!("zrangebyscore", -4, READONLY, ONE, ZSET_RS, "sorted-set", Local, Some(zsets::zrangebyscore), "Returns members in a sorted set within a range of scores."),
    row!("zrevrangebyscore", -4, READONLY, ONE, ZSET_RS, "sorted-set", Local, Some(zsets::zrevrangebyscore), "Returns members in a sorted set within a range of scores in reverse order."),
    row!("zrangebylex", -4, READONLY, ONE, ZSET_RS, "sorted-set", Local, Some(zsets::zrangebylex), "Returns members in a sorted set within a lexicographical range."),
    row!("zrevrangebylex", -4, READONLY, ONE, ZSET_RS, "sorted-set", Local, Some(zsets::zrevrangebylex), "Returns members in a sorted set within a lexicographical range in reverse order."),
    row!("zrevrange", -4, READONLY, ONE, ZSET_RS, "sorted-set", Local, Some(zsets::zrevrange), "Returns members in a sorted set within a range of indexes in reverse order."),
    row!("zremrangebyrank", 4, WRITE, ONE, ZSET_WS, "sorted-set", Local, Some(zsets::zremrangebyrank), "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed."),
    row!("zremrangebyscore", 4, WRITE, ONE, ZSET_WS, "sorted-set", Local, Some(zsets::zremrangebyscore), "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed."),
    row!("zremrangebylex", 4, WRITE, ONE, ZSET_WS, "sorted-set", Local, Some(zsets::zremrangebylex), "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed."),
    row!("zpopmin", -2, WRITE | FAST, ONE, ZSET_W, "sorted-set", Local, Some(zsets::zpopmin), "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."),
    row!("zpopmax", -2, WRITE | FAST, ONE, ZSET_W, "sorted-set", Local, Some(zsets::zpopmax), "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."),
    row!("zmpop", -4, WRITE | MOVABLEKEYS, NUMKEYS_AT_1, ZSET_WS, "sorted-set", GATHER, Some(zsets::zmpop), "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped."),
    row!("zrandmember", -2, READONLY, ONE, ZSET_RS, "sorted-set", Local, Some(zsets::zrandmember), "Returns one or more random members from a sorted set."),
    row!("zunion", -3, READONLY | MOVABLEKEYS, NUMKEYS_AT_1, ZSET_RS, "sorted-set", GATHER, Some(zsets::zunion), "Returns the union of multiple sorted sets."),
    row!("zinter", -3, READONLY | MOVABLEKEYS, NUMKEYS_AT_1, ZSET_RS, "sorted-set", GATHER, Some(zsets::zinter), "Returns the intersect of multiple sorted sets."),
    row!("zdiff", -3, READONLY | MOVABLEKEYS, NUMKEYS_AT_1, ZSET_RS, "sorted-set", GATHER, Some(zsets::zdiff), "Returns the difference between multiple sorted sets."),
    row!("zunionstore", -4, WRITE | DENYOOM | MOVABLEKEYS, DEST_NUMKEYS, ZSET_WS, "sorted-set", GATHER, Some(zsets::zunionstore), "Stores the union of multiple sorted sets in a key."),
    row!("zinterstore", -4, WRITE | DENYOOM | MOVABLEKEYS, DEST_NUMKEYS, ZSET_WS, "sorted-set", GATHER, Some(zsets::zinterstore), "Stores the intersect of multiple sorted sets in a key."),
    row!("zdiffstore", -4, WRITE | DENYOOM | MOVABLEKEYS, DEST_NUMKEYS, ZSET_WS, "sorted-set", GATHER, Some(zsets::zdiffstore), "Stores the difference of multiple sorted sets in a key."),
    row!("zintercard", -3, READONLY | MOVABLEKEYS, NUMKEYS_AT_1, ZSET_RS, "sorted-set", GATHER, Some(zsets::zintercard), "Returns the number of members of the intersect of multiple sorted sets."),
    row!("zscan", -3, READONLY, ONE, ZSET_RS, "sorted-set", Local, Some(zsets::zscan), "Iterates over members and scores of a sorted set."),
    row!("bzpopmin", -3, WRITE | NOSCRIPT | FAST | BLOCKING, ALL_BUT_LAST, &["@write", "@sortedset", "@fast", "@blocking"], "sorted-set", GATHER, Some(zsets::bzpopmin), "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped."),
    row!("bzpopmax", -3, WRITE | NOSCRIPT | FAST | BLOCKING, ALL_BUT_LAST, &["@write", "@sortedset", "@fast", "@blocking"], "sorted-set", GATHER, Some(zsets::bzpopmax), "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped."),
    row!("bzmpop", -5, WRITE | BLOCKING | MOVABLEKEYS | TIMEOUT_FIRST, NUMKEYS_AT_2, ZSET_B, "sorted-set", GATHER, Some(zsets::bzmpop), "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped."),
    // SORT.
    row!("sort", -2, WRITE | DENYOOM | MOVABLEKEYS, STORE_OPT, SORT_W, "generic", GATHER, Some(sort::sort), "Sorts the elements in a list, a set, or a sorted set, optionally storing the result."),
    row!("sort_ro", -2, READONLY | MOVABLEKEYS, ONE, SORT_R, "generic", Local, Some(sort::sort_ro), "Returns the sorted elements of a list, a set, or a sorted set."),
    // Streams.
    row!("xadd", -5, WRITE | DENYOOM | FAST, ONE, STREAM_W, "stream", Local, Some(streams::xadd), "Appends a new message to a stream. Creates the key if it doesn't exist."),
    row!("xrange", -4, READONLY, ONE, STREAM_RS, "stream", Local, Some(streams::xrange), "Returns the messages from a stream within a range of IDs."),
    row!("xrevrange", -4, READONLY, ONE, STREAM_RS, "stream", Local, Some(streams::xrevrange), "Returns the messages from a stream within a range of IDs in reverse order."),
    row!("xlen", 2, READONLY | FAST, ONE, STREAM_R, "stream", Local, Some(streams::xlen), "Return the number of messages in a stream."),
    row!("xdel", -3, WRITE | FAST, ONE, STREAM_W, "stream", Local, Some(streams::xdel), "Returns the number of messages after removing them from a stream."),
    row!("xtrim", -4, WRITE, ONE, STREAM_WS, "stream", Local, Some(streams::xtrim), "Deletes messages from the beginning of a stream."),
    row!("xsetid", -3, WRITE | DENYOOM | FAST, ONE, STREAM_W, "stream", Local, Some(streams::xsetid), "An internal command for replicating stream values."),
    row!("xread", -4, READONLY | BLOCKING | MOVABLEKEYS, STREAM_KEYS, STREAM_RB, "stream", GATHER, Some(streams::xread), "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise."),
    row!("xreadgroup", -7, WRITE | BLOCKING | MOVABLEKEYS, STREAM_KEYS, STREAM_WB, "stream", GATHER, Some(streams::xreadgroup), "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise."),
    row!("xgroup", -2, WRITE | DENYOOM, SECOND, &["@slow"], "stream", Local, Some(streams::xgroup), "A container for consumer groups commands."),
    row!("xack", -4, WRITE | FAST, ONE, STREAM_W, "stream", Local, Some(streams::xack), "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream."),
    row!("xpending", -3, READONLY, ONE, STREAM_RS, "stream", Local, Some(streams::xpending), "Returns the information and entries from a stream consumer group's pending entries list."),
    row!("xclaim", -6, WRITE | FAST, ONE, STREAM_W, "stream", Local, Some(streams::xclaim), "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member."),
    row!("xautoclaim", -6, WRITE | FAST, ONE, STREAM_W, "stream", Local, Some(streams::xautoclaim), "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member."),
    row!("xinfo", -2, READONLY, SECOND, &["@slow"], "stream", Local, Some(streams::xinfo), "A container for stream introspection commands."),
    // HyperLogLog.
    row!("pfadd", -2, WRITE | DENYOOM | FAST, ONE, HLL_W, "hyperloglog", Local, Some(hll::pfadd), "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist."),
    row!("pfcount", -2, READONLY, ALL, HLL_RS, "hyperloglog", GATHER, Some(hll::pfcount), "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s)."),
    row!("pfmerge", -2, WRITE | DENYOOM, ALL, HLL_WS, "hyperloglog", GATHER, Some(hll::pfmerge), "Merges one or more HyperLogLog values into a single key."),
    // Bitmaps.
    row!("setbit", 4, WRITE | DENYOOM, ONE, BIT_W, "bitmap", Local, Some(bitmaps::setbit), "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist."),
    row!("getbit", 3, READONLY | FAST, ONE, BIT_R, "bitmap", Local, Some(bitmaps::getbit), "Returns a bit value by offset."),
    row!("bitcount", -2, READONLY, ONE, BIT_RS, "bitmap", Local, Some(bitmaps::bitcount), "Counts the number of set bits (population counting) in a string."),
    row!("bitpos", -3, READONLY, ONE, BIT_RS, "bitmap", Local, Some(bitmaps::bitpos), "Finds the first set (1) or clear (0) bit in a string."),
    row!("bitop", -4, WRITE | DENYOOM, FROM_TWO, BIT_W, "bitmap", GATHER, Some(bitmaps::bitop), "Performs bitwise operations on multiple strings, and stores the result."),
    row!("bitfield", -2, WRITE | DENYOOM, ONE, BIT_W, "bitmap", Local, Some(bitmaps::bitfield), "Performs arbitrary bitfield integer operations on strings."),
    row!("bitfield_ro", -2, READONLY | FAST, ONE, BIT_R, "bitmap", Local, Some(bitmaps::bitfield_ro), "Performs arbitrary read-only bitfield integer operations on strings."),
    // Geo.
    row!("geoadd", -5, WRITE | DENYOOM, ONE, GEO_W, "geo", Local, Some(geo::geoadd), "Adds one or more members to a geospatial index. The key is created if it doesn't exist."),
    row!("geodist", -4, READONLY, ONE, GEO_R, "geo", Local, Some(geo::geodist), "Returns the distance between two members of a geospatial index."),
    row!("geohash", -2, READONLY, ONE, GEO_R, "geo", Local, Some(geo::geohash), "Returns members from a geospatial index as geohash strings."),
    row!("geopos", -2, READONLY, ONE, GEO_R, "geo", Local, Some(geo::geopos), "Returns the longitude and latitude of members from a geospatial index."),
    row!("geosearch", -7, READONLY, ONE, GEO_R, "geo", Local, Some(geo::geosearch), "Queries a geospatial index for members inside an area of a box or a circle."),
    row!("geosearchstore", -8, WRITE | DENYOOM, TWO, GEO_W, "geo", GATHER, Some(geo::geosearchstore), "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result."),
    row!("georadius", -6, WRITE | DENYOOM | MOVABLEKEYS, STORE_OPT, GEO_W, "geo", GATHER, Some(geo::georadius), "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result."),
    row!("georadiusbymember", -5, WRITE | DENYOOM | MOVABLEKEYS, STORE_OPT, GEO_W, "geo", GATHER, Some(geo::georadiusbymember), "Queries a geospatial index for members within a distance from a member, optionally stores the result."),
    row!("georadius_ro", -6, READONLY, ONE, GEO_R, "geo", Local, Some(geo::georadius_ro), "Returns members from a geospatial index that are within a distance from a coordinate."),
    row!("georadiusbymember_ro", -5, READONLY, ONE, GEO_R, "geo", Local, Some(geo::georadiusbymember_ro), "Returns members from a geospatial index that are within a distance from a member."),
    // Connection and server.
    row!("ping", -1, FAST | STALE, NOKEYS, CONN, "connection", Server, None, "Returns the server's liveliness response."),
    row!("echo", 2, FAST | STALE, NOKEYS, CONN, "connection", Server, None, "Returns the given string."),
    row!("quit", -1, ALLOW_BUSY | NO_AUTH | LOADING | STALE | FAST, NOKEYS, CONN, "connection", Server, None, "Closes the connection."),
    row!("reset", 1, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST, NOKEYS, CONN, "connection", Server, None, "Resets the connection."),
    // Pub/Sub: served by the server (src/commands/pubsub.rs).
    row!("subscribe", -2, NOSCRIPT | LOADING | STALE, NOKEYS, &["@pubsub", "@slow"], "pubsub", Server, None, "Listens for messages published to channels."),
    row!("unsubscribe", -1, NOSCRIPT | LOADING | STALE, NOKEYS, &["@pubsub", "@slow"], "pubsub", Server, None, "Stops listening to messages posted to channels."),
    row!("psubscribe", -2, NOSCRIPT | LOADING | STALE, NOKEYS, &["@pubsub", "@slow"], "pubsub", Server, None, "Listens for messages published to channels that match one or more patterns."),
    row!("punsubscribe", -1, NOSCRIPT | LOADING | STALE, NOKEYS, &["@pubsub", "@slow"], "pubsub", Server, None, "Stops listening to messages published to channels that match one or more patterns."),
    // Sharded channels are keys for cluster routing (MOVED, CROSSSLOT), as in Redis.
    row!("ssubscribe", -2, NOSCRIPT | LOADING | STALE, ALL, &["@pubsub", "@slow"], "pubsub", Server, None, "Listens for messages published to shard channels."),
    row!("sunsubscribe", -1, NOSCRIPT | LOADING | STALE, ALL, &["@pubsub", "@slow"], "pubsub", Server, None, "Stops listening to messages posted to shard channels."),
    row!("publish", 3, LOADING | STALE | FAST, NOKEYS, &["@pubsub", "@fast"], "pubsub", Server, None, "Posts a message to a channel."),
    row!("spublish", 3, LOADING | STALE | FAST, ONE, &["@pubsub", "@fast"], "pubsub", Server, None, "Post a message to a shard channel"),
    row!("pubsub", -2, 0, NOKEYS, &["@slow"], "pubsub", Server, None, "A container for Pub/Sub commands."),
    row!("monitor", 1, ADMIN | NOSCRIPT | LOADING | STALE, NOKEYS, ADMIN_SLOW, "server", Server, None, "Listens for all requests received by the server in real-time."),
    row!("replconf", -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, NOKEYS, ADMIN_SLOW, "server", Server, None, "An internal command for configuring the replication stream."),
    row!("psync", -3, ADMIN | NOSCRIPT | NO_MULTI, NOKEYS, ADMIN_SLOW, "server", Server, None, "An internal command used in replication."),
    row!("sync", 1, ADMIN | NOSCRIPT | NO_MULTI, NOKEYS, ADMIN_SLOW, "server", Server, None, "An internal command used in replication."),
    row!("wait", 3, NOSCRIPT, NOKEYS, &["@slow", "@connection"], "generic", Server, None, "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed."),
    row!("replicaof", 3, ADMIN | NOSCRIPT | STALE, NOKEYS, ADMIN_SLOW, "server", Server, None, "Configures a server as replica of another, or promotes it to a master."),
    row!("slaveof", 3, ADMIN | NOSCRIPT | STALE, NOKEYS, ADMIN_SLOW, "server", Server, None, "Sets a Redis server as a replica of another, or promotes it to being a master."),
    row!("failover", -1, ADMIN | NOSCRIPT | STALE, NOKEYS, ADMIN_SLOW, "server", Server, None, "Starts a coordinated failover from a server to one of its replicas."),
    row!("role", 1, NOSCRIPT | LOADING | STALE | FAST, NOKEYS, &["@admin", "@fast", "@dangerous"], "server", Server, None, "Returns the replication role."),
    row!("hello", -1, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST, NOKEYS, CONN, "connection", Server, None, "Handshakes with the Redis server."),
    row!("select", 2, LOADING | STALE | FAST, NOKEYS, CONN, "connection", Server, None, "Changes the selected database."),
    row!("auth", -2, NOSCRIPT | LOADING | STALE | NO_AUTH | ALLOW_BUSY | FAST, NOKEYS, CONN, "connection", Server, None, "Authenticates the connection."),
    row!("acl", -2, NOSCRIPT | LOADING | STALE, NOKEYS, &["@slow"], "server", Server, None, "A container for Access List Control commands."),
    row!("client", -2, NOSCRIPT | LOADING | STALE, NOKEYS, &["@slow"], "connection", Server, None, "A container for client connection commands."),
    row!("info", -1, LOADING | STALE, NOKEYS, &["@slow", "@dangerous"], "server", Server, None, "Returns information and statistics about the server."),
    row!("lolwut", -1, READONLY | FAST, NOKEYS, &["@read", "@fast"], "server", Server, None, "Displays computer art and the Redis version"),
    row!("module", -2, 0, NOKEYS, &["@slow"], "server", Server, None, "A container for module commands."),
    row!("latency", -2, 0, NOKEYS, &["@slow"], "server", Server, None, "A container for latency diagnostics commands."),
    row!("slowlog", -2, 0, NOKEYS, &["@slow"], "server", Server, None, "A container for slow log commands."),
    row!("memory", -2, 0, NOKEYS, &["@slow"], "server", Server, Some(memory::usage), "A container for memory diagnostics commands."),
    row!("config", -2, ADMIN | NOSCRIPT | LOADING | STALE, NOKEYS, &["@slow"], "server", Server, None, "A container for server configuration commands."),
    row!("time", 1, LOADING | STALE | FAST, NOKEYS, &["@fast"], "server", Server, None, "Returns the server time."),
    row!("lastsave", 1, LOADING | STALE | FAST, NOKEYS, &["@fast", "@admin", "@dangerous"], "server", Server, None, "Returns the Unix timestamp of the last successful save to disk."),
    row!("save", 1, ADMIN | NOSCRIPT | NO_MULTI, NOKEYS, ADMIN_SLOW, "server", Server, None, "Synchronously saves the database(s) to disk."),
    row!("bgsave", -1, ADMIN | NOSCRIPT, NOKEYS, ADMIN_SLOW, "server", Server, None, "Asynchronously saves the database(s) to disk."),
    row!("bgrewriteaof", 1, ADMIN | NOSCRIPT, NOKEYS, ADMIN_SLOW, "server", Server, None, "Asynchronously rewrites the append-only file to disk."),
    row!("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, NOKEYS, ADMIN_SLOW, "server", Server, None, "Synchronously saves the database(s) to disk and shuts down the Redis server."),
    row!("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, NOKEYS, ADMIN_SLOW, "server", Server, Some(debug::debug), "A container for debugging commands."),
    // Scripting: served by the server (src/script.rs), which runs the Lua engine on the
    // shard of the declared keys, or on copies of them under holds.
    row!("eval", -3, NOSCRIPT | STALE | MOVABLEKEYS, NUMKEYS_AT_2, &["@slow", "@scripting"], "scripting", Server, None, "Executes a server-side Lua script."),
    row!("evalsha", -3, NOSCRIPT | STALE | MOVABLEKEYS, NUMKEYS_AT_2, &["@slow", "@scripting"], "scripting", Server, None, "Executes a server-side Lua script by SHA1 digest."),
    row!("eval_ro", -3, NOSCRIPT | STALE | READONLY | MOVABLEKEYS, NUMKEYS_AT_2, &["@slow", "@scripting"], "scripting", Server, None, "Executes a read-only server-side Lua script."),
    row!("evalsha_ro", -3, NOSCRIPT | STALE | READONLY | MOVABLEKEYS, NUMKEYS_AT_2, &["@slow", "@scripting"], "scripting", Server, None, "Executes a read-only server-side Lua script by SHA1 digest."),
    row!("fcall", -3, NOSCRIPT | STALE | MOVABLEKEYS, NUMKEYS_AT_2, &["@slow", "@scripting"], "scripting", Server, None, "Invokes a function."),
    row!("fcall_ro", -3, NOSCRIPT | STALE | READONLY | MOVABLEKEYS, NUMKEYS_AT_2, &["@slow", "@scripting"], "scripting", Server, None, "Invokes a read-only function."),
    row!("script", -2, NOSCRIPT | STALE, NOKEYS, &["@slow"], "scripting", Server, None, "A container for Lua scripts management commands."),
    row!("function", -2, NOSCRIPT | STALE, NOKEYS, &["@slow"], "scripting", Server, None, "A container for function commands."),
    row!("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NOKEYS, &["@fast", "@transaction"], "transactions", Server, None, "Starts a transaction."),
    row!("exec", 1, NOSCRIPT | LOADING | STALE, NOKEYS, &["@slow", "@transaction"], "transactions", Server, None, "Executes all commands in a transaction."),
    row!("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NOKEYS, &["@fast", "@transaction"], "transactions", Server, None, "Discards a transaction."),
    row!("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, ALL, &["@fast", "@transaction"], "transactions", Server, None, "Monitors changes to keys to determine the execution of a transaction."),
    row!("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NOKEYS, &["@fast", "@transaction"], "transactions", Server, None, "Forgets about watched keys of a transaction."),
    row!("cluster", -2, 0, NOKEYS, &["@slow"], "cluster", Server, None, "A container for Redis Cluster commands."),
    row!("readonly", 1, LOADING | STALE | FAST, NOKEYS, CONN, "cluster", Server, None, "Enables read-only queries for a connection to a Redis Cluster replica node."),
    row!("readwrite", 1, LOADING | STALE | FAST, NOKEYS, CONN, "cluster", Server, None, "Enables read-write queries for a connection to a Redis Cluster replica node."),
    row!("asking", 1, FAST, NOKEYS, CONN, "cluster", Server, None, "Signals that a cluster client is following an -ASK redirect."),
    row!("command", -1, LOADING | STALE, NOKEYS, &["@slow", "@connection"], "server", Server, None, "Returns detailed information about all commands."),
];
