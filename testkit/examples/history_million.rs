//! Chat history on a group of a million events: paging backwards and forwards from any point,
//! the reply jump, the chat list, read positions and appends — on SQLite and PostgreSQL.
//!
//! Prints figures (it is not a test; the project's speed targets live in benchmarks like this,
//! never in timed unit tests).
//!
//! ```text
//! cargo run --release -p winichat-testkit --example history_million -- [N] [--keep]
//! ```
//!
//! - `N`: how many messages to bulk-load (default 1,000,000, at least 20,000).
//! - `--keep`: leave the SQLite temporary directory and the PostgreSQL database in place (both
//!   are printed), for `sqlite3` / `psql` and `EXPLAIN` afterwards.
//! - `--sqlite` / `--postgres`: run only that backend.
//! - PostgreSQL: a throwaway database on the server of `WINICHAT_TEST_DATABASE_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/postgres`), dropped at the end; skipped, with a line
//!   saying so, when the server does not answer.
//!
//! Per backend:
//! 1. four users, a public group created through [`Chats::create`], the other three joining and
//!    a few real posts through [`Chats::post`] (so the group's state, chat row and members are
//!    the node's own);
//! 2. `N` further `msg.post` events bulk-inserted with SQL (a recursive CTE on SQLite,
//!    `generate_series` on PostgreSQL) in transactions of [`BATCH`] rows, into `events` (unique
//!    well-formed event ids chained by `prev_id`, a small dummy `raw`) and `timeline` (the CBOR
//!    of `{"text": "message"}`), senders alternating; each batch also moves
//!    `groups.last_seq/last_event_id` and `chats.last_seq/last_ts`, so the log head stays right;
//! 3. a fresh database handle and a fresh [`Chats`] (nothing cached): the first call is timed
//!    alone, the connection pool is warmed, then [`ITERATIONS`] runs each of: the newest page,
//!    `before`/`after`/`around` a random seq (limit 50), `list` and `summary_of` for the member
//!    whose read position is far behind and for two whose read positions are at 1/4 and 3/4 of
//!    the log (unread capped at 1,000), `mark_read`, and `post` at the head; and a walk
//!    backwards from the head through [`WALK`] items checking every seq comes exactly once, in
//!    order.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ciborium::Value;
use sqlx::Connection as _;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use winichat_node::chat::{Chats, Pusher};
use winichat_node::storage::{self, Database, accounts::NewUser};
use winichat_protocol::Timestamp;
use winichat_protocol::codec;
use winichat_protocol::ed25519_dalek::SigningKey;
use winichat_protocol::gateway::chat as api;
use winichat_protocol::group::Visibility;
use winichat_protocol::ids::{EventId, GroupId, NodeName, UserId};
use winichat_testkit::postgres::{TestDatabase, admin_url};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const DEFAULT_N: u64 = 1_000_000;
const MIN_N: u64 = 20_000;
/// Rows per bulk transaction.
const BATCH: u64 = 50_000;
/// Runs of each measured operation.
const ITERATIONS: usize = 200;
/// Page size of the measured history reads.
const PAGE: u32 = 50;
/// Items walked backwards from the head.
const WALK: u64 = 20_000;
/// The cap `chats.list` counts unread messages to (read.rs `UNREAD_CAP`).
const UNREAD_CAP: u64 = 1000;
const NODE: &str = "bench.example.org";
/// 32 base64url characters: bulk event ids are `$` + this + 10 digits + `A` (43 characters
/// after the sigil, the last with zero padding bits, so every id parses canonically).
const ID_PREFIX: &str = "benchbenchbenchbenchbenchbenchbe";
/// A p95 above this is called out.
const SLOW_P95: Duration = Duration::from_millis(20);
/// Pool warm-up before the timed runs: rounds of concurrent newest-page reads.
const WARM_ROUNDS: usize = 5;
const WARM_CONCURRENCY: usize = 10;

/// Pushes nowhere.
#[derive(Debug)]
struct NoPush;

impl Pusher for NoPush {
    fn push(&self, _users: &[UserId], _event: &str, _data: &Value) {}
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("history_million: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

struct Args {
    n: u64,
    keep: bool,
    sqlite: bool,
    postgres: bool,
}

fn parse_args() -> Result<Args, BoxError> {
    let mut args = Args {
        n: DEFAULT_N,
        keep: false,
        sqlite: true,
        postgres: true,
    };
    for arg in std::env::args().skip(1) {
        if arg == "--keep" {
            args.keep = true;
        } else if arg == "--sqlite" {
            args.postgres = false;
        } else if arg == "--postgres" {
            args.sqlite = false;
        } else {
            let n: u64 = arg.replace('_', "").parse().map_err(|_| {
                format!("usage: history_million [N] [--keep] [--sqlite | --postgres]; got {arg:?}")
            })?;
            if n < MIN_N {
                return Err(format!("N must be at least {MIN_N}").into());
            }
            args.n = n;
        }
    }
    Ok(args)
}

async fn run() -> Result<(), BoxError> {
    let args = parse_args()?;
    println!(
        "history_million: {} bulk messages, {ITERATIONS} runs per operation, pages of {PAGE}",
        args.n
    );
    println!("nproc: {}", nproc());
    let mut reports = Vec::new();

    if args.sqlite {
        let dir = tempfile::tempdir()?;
        let report = bench_sqlite(dir.path(), args.n).await?;
        print_report(&report);
        reports.push(report);
        if args.keep {
            let kept = dir.keep();
            println!("SQLite database kept in {}", kept.display());
        }
    }

    // PostgreSQL, when reachable.
    if !args.postgres {
        println!("\nPostgreSQL: not asked for");
    } else {
        match pg_reachable().await {
            Ok(()) => {
                let test_db = TestDatabase::create().await;
                let report = bench_postgres(&test_db, args.n).await?;
                print_report(&report);
                reports.push(report);
                if args.keep {
                    println!(
                        "PostgreSQL database kept: {0} (DROP DATABASE \"{0}\" WITH (FORCE))",
                        test_db.name()
                    );
                    std::mem::forget(test_db);
                }
            }
            Err(why) => println!("\nPostgreSQL: skipped ({why})"),
        }
    }

    print_summary(&reports);
    Ok(())
}

async fn pg_reachable() -> Result<(), String> {
    let url = admin_url();
    let shown = storage::redact_url(&url);
    match tokio::time::timeout(Duration::from_secs(3), PgConnection::connect(&url)).await {
        Ok(Ok(conn)) => {
            drop(conn.close().await);
            Ok(())
        }
        Ok(Err(e)) => Err(format!("{shown}: {e}")),
        Err(_) => Err(format!("{shown}: no answer within 3 s")),
    }
}

// ---- the scenario, shared by both backends ----

/// The setup's result: who and where.
struct Setup {
    group: GroupId,
    owner: UserId,
    member: UserId,
    /// Two more members, whose read positions are put at 1/4 and 3/4 of the log.
    readers: [UserId; 2],
    /// The head after the real events.
    head_seq: u64,
    head_id: EventId,
}

fn user(name: &str) -> Result<UserId, BoxError> {
    Ok(UserId::parse(&format!("@{name}:{NODE}"))?)
}

fn chats_on(db: Database) -> Result<Chats, BoxError> {
    let node: NodeName = NODE.parse()?;
    Ok(Chats::new(
        db,
        node,
        SigningKey::from_bytes(&[7; 32]),
        Arc::new(NoPush),
    ))
}

fn post_params(group: &GroupId, txn: String, text: &str) -> api::PostParams {
    api::PostParams {
        txn,
        group: group.clone(),
        text: text.into(),
        reply_to: None,
        mentions: Vec::new(),
        mention_everyone: false,
        attachments: Vec::new(),
    }
}

fn history(group: &GroupId) -> api::HistoryParams {
    api::HistoryParams {
        group: group.clone(),
        before: None,
        after: None,
        around: None,
        limit: Some(PAGE),
    }
}

/// Step 1: users, the group and a few real posts, through the node's own code.
async fn setup(db: Database) -> Result<Setup, BoxError> {
    let owner = user("ana")?;
    let member = user("bob")?;
    let readers = [user("cyd")?, user("dee")?];
    for id in [&owner, &member, &readers[0], &readers[1]] {
        db.accounts()
            .create_user(&NewUser {
                id: id.clone(),
                password_hash: "x".into(),
                display_name: id.to_string(),
                created_at: Timestamp(1),
            })
            .await?;
    }
    let chats = chats_on(db.clone())?;
    let created = chats
        .create(
            &owner,
            api::GroupCreateParams {
                txn: "create".into(),
                name: "Million".into(),
                description: "history benchmark".into(),
                visibility: Visibility::Public,
                handle: Some("million".into()),
            },
        )
        .await?;
    let group = created.group;
    for who in [&member, &readers[0], &readers[1]] {
        chats
            .join_public(
                who,
                api::JoinParams {
                    txn: "join".into(),
                    group: Some(group.clone()),
                    handle: None,
                },
            )
            .await?;
    }
    let mut last = None;
    for i in 0..5 {
        let who = if i % 2 == 0 { &owner } else { &member };
        let result = chats
            .post(who, post_params(&group, format!("setup-{i}"), "hello"))
            .await?;
        last = Some(result);
    }
    let last = last.ok_or("no setup post")?;
    db.close().await;
    Ok(Setup {
        group,
        owner,
        member,
        readers,
        head_seq: last.seq,
        head_id: last.id,
    })
}

/// The text of bulk event `seq`'s id.
fn bulk_id(seq: u64) -> String {
    format!("${ID_PREFIX}{seq:010}A")
}

/// Milliseconds since the epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What the bulk load writes: seqs `first..=last`, time `ts0 + seq`.
struct Bulk<'a> {
    setup: &'a Setup,
    first: u64,
    last: u64,
    ts0: u64,
    raw: Vec<u8>,
    body: Vec<u8>,
}

impl<'a> Bulk<'a> {
    fn new(setup: &'a Setup, n: u64) -> Result<Bulk<'a>, BoxError> {
        // The ids must be ones the node can parse back.
        EventId::parse(&bulk_id(1))?;
        EventId::parse(&bulk_id(9_999_999_999))?;
        let body = codec::encode(&Value::Map(vec![(
            Value::Text("text".into()),
            Value::Text("message".into()),
        )]))?;
        let first = setup.head_seq + 1;
        let last = setup.head_seq + n;
        // Older than now, so the head's time does not run ahead of the clock.
        let ts0 = now_ms() - last - 60_000;
        Ok(Bulk {
            setup,
            first,
            last,
            ts0,
            raw: b"bench: not a real COSE_Sign1".to_vec(),
            body,
        })
    }

    /// The batches: inclusive seq ranges.
    fn batches(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut from = self.first;
        while from <= self.last {
            let to = (from + BATCH - 1).min(self.last);
            out.push((from, to));
            from = to + 1;
        }
        out
    }
}

fn i64_of(v: u64) -> Result<i64, BoxError> {
    Ok(i64::try_from(v)?)
}

// ---- SQLite ----

async fn bench_sqlite(dir: &Path, n: u64) -> Result<Report, BoxError> {
    println!("\n== SQLite ({}) ==", dir.display());
    let db = storage::open("sqlite", dir).await?;
    let setup = setup(db).await?;
    let file = dir.join(storage::DEFAULT_SQLITE_FILE);

    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(&file)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .synchronous(SqliteSynchronous::Normal),
        )
        .await?;
    let bulk = Bulk::new(&setup, n)?;
    let started = Instant::now();
    for (from, to) in bulk.batches() {
        sqlite_batch(&pool, &bulk, from, to).await?;
    }
    let load = started.elapsed();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await?;
    pool.close().await;
    println!(
        "bulk load: {n} events + timeline rows in {:.1} s ({:.0} rows/s, batches of {BATCH}, \
         synchronous=NORMAL on the loading connection)",
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64()
    );
    let loaded_size = file_size(&file);

    let db = storage::open("sqlite", dir).await?;
    let mut report = measure("SQLite", db.clone(), &setup, bulk.last).await?;
    db.close().await;
    report.load = load;
    report.size = format!(
        "database file {} after the load (checkpointed), {} at the end (+ WAL {})",
        human(loaded_size),
        human(file_size(&file)),
        human(file_size(
            &dir.join(format!("{}-wal", storage::DEFAULT_SQLITE_FILE))
        ))
    );
    Ok(report)
}

async fn sqlite_batch(pool: &SqlitePool, b: &Bulk<'_>, from: u64, to: u64) -> Result<(), BoxError> {
    let group = b.setup.group.as_str();
    let (owner, member) = (b.setup.owner.as_str(), b.setup.member.as_str());
    let head_id = b.setup.head_id.to_string();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "WITH RECURSIVE s(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM s WHERE n < ?) \
         INSERT INTO events (group_id, seq, event_id, prev_id, ts, sender, kind, raw) \
         SELECT ?, n, '$' || ? || printf('%010d', n) || 'A', \
                CASE WHEN n = ? THEN ? ELSE '$' || ? || printf('%010d', n - 1) || 'A' END, \
                ? + n, CASE n % 2 WHEN 0 THEN ? ELSE ? END, 'msg.post', ? FROM s",
    )
    .bind(i64_of(from)?)
    .bind(i64_of(to)?)
    .bind(group)
    .bind(ID_PREFIX)
    .bind(i64_of(b.first)?)
    .bind(&head_id)
    .bind(ID_PREFIX)
    .bind(i64_of(b.ts0)?)
    .bind(owner)
    .bind(member)
    .bind(b.raw.as_slice())
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "WITH RECURSIVE s(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM s WHERE n < ?) \
         INSERT INTO timeline (group_id, seq, event_id, ts, sender, kind, body, is_message, \
                               is_admin) \
         SELECT ?, n, '$' || ? || printf('%010d', n) || 'A', ? + n, \
                CASE n % 2 WHEN 0 THEN ? ELSE ? END, 'msg.post', ?, 1, 0 FROM s",
    )
    .bind(i64_of(from)?)
    .bind(i64_of(to)?)
    .bind(group)
    .bind(ID_PREFIX)
    .bind(i64_of(b.ts0)?)
    .bind(owner)
    .bind(member)
    .bind(b.body.as_slice())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE groups SET last_seq = ?, last_event_id = ? WHERE id = ?")
        .bind(i64_of(to)?)
        .bind(bulk_id(to))
        .bind(group)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE chats SET last_seq = ?, last_ts = ? WHERE group_id = ?")
        .bind(i64_of(to)?)
        .bind(i64_of(b.ts0 + to)?)
        .bind(group)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

// ---- PostgreSQL ----

async fn bench_postgres(test_db: &TestDatabase, n: u64) -> Result<Report, BoxError> {
    println!("\n== PostgreSQL (database {}) ==", test_db.name());
    let scratch = tempfile::tempdir()?;
    let db = storage::open(test_db.url(), scratch.path()).await?;
    let setup = setup(db).await?;

    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(test_db.url())
        .await?;
    let bulk = Bulk::new(&setup, n)?;
    let started = Instant::now();
    for (from, to) in bulk.batches() {
        pg_batch(&pool, &bulk, from, to).await?;
    }
    let load = started.elapsed();
    // What autovacuum does shortly after a load this size; without it the planner still has
    // the statistics of a 7-row table.
    let started = Instant::now();
    sqlx::query("ANALYZE events, timeline, chats, chat_members, groups")
        .execute(&pool)
        .await?;
    println!(
        "bulk load: {n} events + timeline rows in {:.1} s ({:.0} rows/s, batches of {BATCH}); \
         ANALYZE {:.1} s",
        load.as_secs_f64(),
        n as f64 / load.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    let db = storage::open(test_db.url(), scratch.path()).await?;
    let mut report = measure("PostgreSQL", db.clone(), &setup, bulk.last).await?;
    db.close().await;
    let sizes: (i64, i64, i64) = sqlx::query_as(
        "SELECT pg_database_size(current_database()), pg_total_relation_size('events'), \
         pg_total_relation_size('timeline')",
    )
    .fetch_one(&pool)
    .await?;
    pool.close().await;
    report.load = load;
    report.size = format!(
        "database {} (events {}, timeline {}, with indexes)",
        human(u64::try_from(sizes.0)?),
        human(u64::try_from(sizes.1)?),
        human(u64::try_from(sizes.2)?)
    );
    Ok(report)
}

async fn pg_batch(pool: &PgPool, b: &Bulk<'_>, from: u64, to: u64) -> Result<(), BoxError> {
    let group = b.setup.group.as_str();
    let (owner, member) = (b.setup.owner.as_str(), b.setup.member.as_str());
    let head_id = b.setup.head_id.to_string();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO events (group_id, seq, event_id, prev_id, ts, sender, kind, raw) \
         SELECT $1::text, n, '$' || $2::text || lpad(n::text, 10, '0') || 'A', \
                CASE WHEN n = $3::bigint THEN $4::text \
                     ELSE '$' || $2::text || lpad((n - 1)::text, 10, '0') || 'A' END, \
                $5::bigint + n, CASE WHEN n % 2 = 0 THEN $6::text ELSE $7::text END, \
                'msg.post', $8::bytea \
         FROM generate_series($9::bigint, $10::bigint) AS n",
    )
    .bind(group)
    .bind(ID_PREFIX)
    .bind(i64_of(b.first)?)
    .bind(&head_id)
    .bind(i64_of(b.ts0)?)
    .bind(owner)
    .bind(member)
    .bind(b.raw.as_slice())
    .bind(i64_of(from)?)
    .bind(i64_of(to)?)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO timeline (group_id, seq, event_id, ts, sender, kind, body, is_message, \
                               is_admin) \
         SELECT $1::text, n, '$' || $2::text || lpad(n::text, 10, '0') || 'A', \
                $3::bigint + n, CASE WHEN n % 2 = 0 THEN $4::text ELSE $5::text END, \
                'msg.post', $6::bytea, TRUE, FALSE \
         FROM generate_series($7::bigint, $8::bigint) AS n",
    )
    .bind(group)
    .bind(ID_PREFIX)
    .bind(i64_of(b.ts0)?)
    .bind(owner)
    .bind(member)
    .bind(b.body.as_slice())
    .bind(i64_of(from)?)
    .bind(i64_of(to)?)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE groups SET last_seq = $1, last_event_id = $2 WHERE id = $3")
        .bind(i64_of(to)?)
        .bind(bulk_id(to))
        .bind(group)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE chats SET last_seq = $1, last_ts = $2 WHERE group_id = $3")
        .bind(i64_of(to)?)
        .bind(i64_of(b.ts0 + to)?)
        .bind(group)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

// ---- measuring ----

/// Latencies of one operation.
struct Samples {
    name: &'static str,
    times: Vec<Duration>,
}

impl Samples {
    fn new(name: &'static str) -> Samples {
        Samples {
            name,
            times: Vec::with_capacity(ITERATIONS),
        }
    }

    fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.times.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((sorted.len() as f64) * q).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    /// The slowest run and its index (from 0).
    fn max(&self) -> (Duration, usize) {
        self.times
            .iter()
            .copied()
            .enumerate()
            .map(|(i, d)| (d, i))
            .max()
            .unwrap_or_default()
    }
}

struct Report {
    backend: &'static str,
    head: u64,
    load: Duration,
    first_call: Duration,
    warm_up: Duration,
    rows: Vec<Samples>,
    walk: Duration,
    walk_pages: usize,
    size: String,
}

/// xorshift64*: reproducible random seqs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), BoxError> {
    if ok { Ok(()) } else { Err(what().into()) }
}

fn seqs(result: &api::HistoryResult) -> Vec<u64> {
    result.items.iter().map(|i| i.seq).collect()
}

/// Step 3 on a freshly opened database: nothing cached in the node.
async fn measure(
    backend: &'static str,
    db: Database,
    setup: &Setup,
    head: u64,
) -> Result<Report, BoxError> {
    let chats = chats_on(db)?;
    let group = &setup.group;
    let (owner, member) = (&setup.owner, &setup.member);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let page = usize::try_from(PAGE)?;
    let mut rows = Vec::new();

    // The very first call loads the group's state and head.
    let t = Instant::now();
    let first = chats.history(member, history(group)).await?;
    let first_call = t.elapsed();
    check(first.items.last().map(|i| i.seq) == Some(head), || {
        format!(
            "newest page ends at {:?}, head is {head}",
            first.items.last()
        )
    })?;

    // Warm the connection pool as a busy node's is: sqlx opens connections lazily, and even
    // strictly sequential use makes it open new ones for a while (a released connection is
    // returned asynchronously, so the next acquire can find none idle and connect instead);
    // each of those costs a PostgreSQL connection set-up inside the measured call.
    let t = Instant::now();
    for _ in 0..WARM_ROUNDS {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..WARM_CONCURRENCY {
            let (chats, member, group) = (chats.clone(), member.clone(), group.clone());
            set.spawn(async move { chats.history(&member, history(&group)).await });
        }
        while let Some(done) = set.join_next().await {
            done??;
        }
    }
    let warm_up = t.elapsed();

    // Two members whose read positions are in the middle of the log (not timed).
    let quarter = [head / 4, head / 4 * 3];
    for (who, seq) in setup.readers.iter().zip(quarter) {
        chats
            .mark_read(
                who,
                api::ReadParams {
                    group: group.clone(),
                    seq,
                },
            )
            .await?;
    }

    let mut s = Samples::new("history newest (limit 50)");
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        let r = chats.history(member, history(group)).await?;
        s.times.push(t.elapsed());
        check(
            r.items.len() == page && r.more_before && !r.more_after,
            || "newest page has the wrong shape".into(),
        )?;
    }
    rows.push(s);

    let mut s = Samples::new("history before=random");
    for _ in 0..ITERATIONS {
        let at = rng.between(PAGE as u64 + 1, head);
        let t = Instant::now();
        let r = chats
            .history(
                member,
                api::HistoryParams {
                    before: Some(at),
                    ..history(group)
                },
            )
            .await?;
        s.times.push(t.elapsed());
        let want: Vec<u64> = (at - PAGE as u64..at).collect();
        check(seqs(&r) == want, || format!("before {at}: {:?}", seqs(&r)))?;
    }
    rows.push(s);

    let mut s = Samples::new("history after=random");
    for _ in 0..ITERATIONS {
        let at = rng.between(1, head - PAGE as u64);
        let t = Instant::now();
        let r = chats
            .history(
                member,
                api::HistoryParams {
                    after: Some(at),
                    ..history(group)
                },
            )
            .await?;
        s.times.push(t.elapsed());
        let want: Vec<u64> = (at + 1..=at + PAGE as u64).collect();
        check(seqs(&r) == want, || format!("after {at}: {:?}", seqs(&r)))?;
    }
    rows.push(s);

    let mut s = Samples::new("history around=random (reply jump)");
    for _ in 0..ITERATIONS {
        let at = rng.between(PAGE as u64, head - PAGE as u64);
        let t = Instant::now();
        let r = chats
            .history(
                member,
                api::HistoryParams {
                    around: Some(at),
                    ..history(group)
                },
            )
            .await?;
        s.times.push(t.elapsed());
        let got = seqs(&r);
        check(
            got.len() == page && got.contains(&at) && got.windows(2).all(|w| w[1] == w[0] + 1),
            || format!("around {at}: {got:?}"),
        )?;
    }
    rows.push(s);

    let mut s = Samples::new("list (read far behind)");
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        let r = chats.list(member, Default::default()).await?;
        s.times.push(t.elapsed());
        let chat = r.chats.first().ok_or("empty chat list")?;
        check(chat.unread == UNREAD_CAP && chat.last_seq == head, || {
            format!("list: unread {} last_seq {}", chat.unread, chat.last_seq)
        })?;
    }
    rows.push(s);

    let mut s = Samples::new("summary_of (read far behind)");
    for _ in 0..ITERATIONS {
        let t = Instant::now();
        let r = chats.summary_of(member, group).await?;
        s.times.push(t.elapsed());
        check(r.unread == UNREAD_CAP, || {
            format!("summary: unread {}", r.unread)
        })?;
    }
    rows.push(s);

    // The same for members who read up to 1/4 and 3/4 of the log, taking turns.
    let mut s = Samples::new("list (read at 1/4 | 3/4, alternating)");
    for i in 0..ITERATIONS {
        let who = &setup.readers[i % 2];
        let t = Instant::now();
        let r = chats.list(who, Default::default()).await?;
        s.times.push(t.elapsed());
        let chat = r.chats.first().ok_or("empty chat list")?;
        check(chat.unread == UNREAD_CAP, || {
            format!("list: unread {}", chat.unread)
        })?;
    }
    rows.push(s);

    let mut s = Samples::new("summary_of (read at 1/4 | 3/4, alt.)");
    for i in 0..ITERATIONS {
        let who = &setup.readers[i % 2];
        let t = Instant::now();
        let r = chats.summary_of(who, group).await?;
        s.times.push(t.elapsed());
        check(r.unread == UNREAD_CAP, || {
            format!("summary: unread {}", r.unread)
        })?;
    }
    rows.push(s);

    // The owner reads forward through the last part of the log: every call moves.
    let mut s = Samples::new("mark_read (moves forward)");
    let from = head - ITERATIONS as u64 * 10;
    for i in 0..ITERATIONS as u64 {
        let t = Instant::now();
        chats
            .mark_read(
                owner,
                api::ReadParams {
                    group: group.clone(),
                    seq: from + i * 10,
                },
            )
            .await?;
        s.times.push(t.elapsed());
    }
    rows.push(s);

    // Backwards from the head through WALK items: each seq exactly once, in order.
    let t = Instant::now();
    let mut expected = head;
    let mut before = None;
    let mut pages = 0;
    while head - expected < WALK {
        let r = chats
            .history(
                member,
                api::HistoryParams {
                    before,
                    ..history(group)
                },
            )
            .await?;
        pages += 1;
        for item in r.items.iter().rev() {
            check(item.seq == expected, || {
                format!("walk: got seq {} where {expected} was due", item.seq)
            })?;
            expected -= 1;
        }
        check(r.more_before, || "walk: ran out of history".into())?;
        before = r.items.first().map(|i| i.seq);
    }
    let walk = t.elapsed();

    // Appends at the head, last (they move the head).
    let mut s = Samples::new("post (append at head)");
    for i in 0..ITERATIONS {
        let who = if i % 2 == 0 { owner } else { member };
        let t = Instant::now();
        let r = chats
            .post(who, post_params(group, format!("bench-{i}"), "appended"))
            .await?;
        s.times.push(t.elapsed());
        check(r.seq == head + 1 + i as u64, || {
            format!("post {i} got seq {}", r.seq)
        })?;
    }
    rows.push(s);

    Ok(Report {
        backend,
        head,
        load: Duration::ZERO,
        first_call,
        warm_up,
        rows,
        walk,
        walk_pages: pages,
        size: String::new(),
    })
}

// ---- printing ----

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn print_report(r: &Report) {
    println!("head seq {} ({} log)", r.head, r.backend);
    println!(
        "first call after open (loads state + head): {} ms; pool warm-up ({WARM_ROUNDS} rounds \
         of {WARM_CONCURRENCY} concurrent reads): {} ms",
        ms(r.first_call),
        ms(r.warm_up)
    );
    println!(
        "{:<38} {:>10} {:>10} {:>10} {:>6}",
        "operation (ms)", "p50", "p95", "max", "run#"
    );
    for s in &r.rows {
        let p95 = s.quantile(0.95);
        let flag = if p95 > SLOW_P95 {
            "  <-- p95 over 20 ms"
        } else {
            ""
        };
        let (max, at) = s.max();
        println!(
            "{:<38} {:>10} {:>10} {:>10} {:>6}{flag}",
            s.name,
            ms(s.quantile(0.5)),
            ms(p95),
            ms(max),
            at
        );
    }
    println!(
        "walk back {WALK} items from the head: {} pages in {:.1} ms ({} ms a page), every seq \
         once, in order",
        r.walk_pages,
        r.walk.as_secs_f64() * 1000.0,
        ms(r.walk / u32::try_from(r.walk_pages.max(1)).unwrap_or(u32::MAX))
    );
    println!("size: {}", r.size);
}

fn print_summary(reports: &[Report]) {
    if reports.is_empty() {
        return;
    }
    println!("\n== summary: p50 / p95 ms ==");
    print!("{:<38}", "operation");
    for r in reports {
        print!(" {:>22}", r.backend);
    }
    println!();
    for (i, s) in reports[0].rows.iter().enumerate() {
        print!("{:<38}", s.name);
        for r in reports {
            match r.rows.get(i) {
                Some(s) => print!(
                    " {:>22}",
                    format!("{} / {}", ms(s.quantile(0.5)), ms(s.quantile(0.95)))
                ),
                None => print!(" {:>22}", "-"),
            }
        }
        println!();
    }
    print!("{:<38}", "bulk load (s)");
    for r in reports {
        print!(" {:>22}", format!("{:.1}", r.load.as_secs_f64()));
    }
    println!();
}

fn human(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn nproc() -> String {
    std::thread::available_parallelism().map_or_else(|_| "?".into(), |n| n.to_string())
}
