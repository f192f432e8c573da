//! The session store, run against SQLite and PostgreSQL.

mod common;

use common::{Backend, TestDb, START};
use origin_api::store::{NewSession, SessionStore};
use origin_api::sweeper::sweep_once;
use origin_api::token::token_hash;

const HOUR: i64 = 3600;

fn new_session(user: &str, sid: &str, now: i64) -> NewSession {
    NewSession {
        user_id: user.to_owned(),
        token_hash: token_hash(sid),
        ip: Some("192.0.2.1".to_owned()),
        user_agent: Some("test-agent".to_owned()),
        created_at: now,
        expires_at: now + HOUR,
        token_expires_at: now + HOUR,
    }
}

backend_tests!(
    ensure_creates_once,
    ensure_concurrent_creates_one_row,
    public_id_is_random_base64url,
    find_unknown_token_is_none,
    touch_extends_only_after_update_age,
    touch_skips_revoked_session,
    list_live_is_newest_first_without_dead_sessions,
    list_live_orders_same_second_by_creation,
    revoke_requires_owner,
    revoke_keeps_first_revocation_time,
    revoke_others_keeps_current,
    revoke_all_for_user_counts_live_sessions,
    sweep_deletes_expired_but_keeps_revoked_unexpired,
    ping_succeeds,
);

async fn ensure_creates_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let new = new_session("alice", "sid-1", START);

    let (first_created, first) = db.store.ensure(&new).await.expect("first ensure");
    let (second_created, second) = db.store.ensure(&new).await.expect("second ensure");

    assert!(first_created, "the first ensure creates the record");
    assert!(!second_created, "the second ensure finds it");
    assert_eq!(first, second, "both return the same record");
    assert_eq!(first.token_hash, token_hash("sid-1"));
    assert_eq!(first.created_at, START);
    assert_eq!(first.last_seen_at, START);
    assert_eq!(first.expires_at, START + HOUR);
    assert_eq!(first.revoked_at, None);
}

async fn ensure_concurrent_creates_one_row(backend: Backend) {
    let db = TestDb::new(backend).await;
    let new = new_session("alice", "sid-concurrent", START);

    let mut tasks = Vec::new();
    for _ in 0..100 {
        let store = db.store.clone();
        let new = new.clone();
        tasks.push(tokio::spawn(async move { store.ensure(&new).await }));
    }
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (was_created, record) = task
            .await
            .expect("task did not panic")
            .expect("every concurrent ensure succeeds");
        created += usize::from(was_created);
        ids.insert(record.id);
    }

    assert_eq!(created, 1, "exactly one ensure created the record");
    assert_eq!(ids.len(), 1, "every ensure returned the same record");
    let live = db.store.list_live("alice", START).await.expect("list");
    assert_eq!(live.len(), 1, "exactly one row exists");
}

async fn public_id_is_random_base64url(backend: Backend) {
    let db = TestDb::new(backend).await;

    let (_, first) = db
        .store
        .ensure(&new_session("alice", "sid-1", START))
        .await
        .expect("ensure");
    let (_, second) = db
        .store
        .ensure(&new_session("alice", "sid-2", START))
        .await
        .expect("ensure");

    assert_eq!(
        first.id.len(),
        22,
        "16 random bytes are 22 base64url characters"
    );
    assert!(
        first
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "id {} is base64url",
        first.id
    );
    assert_ne!(first.id, second.id);
    assert!(
        !first.token_hash.contains(&first.id),
        "the id is not derived from the token"
    );
}

async fn find_unknown_token_is_none(backend: Backend) {
    let db = TestDb::new(backend).await;

    let found = db
        .store
        .find_by_token_hash(&token_hash("nobody"))
        .await
        .expect("find");

    assert_eq!(found, None);
}

async fn touch_extends_only_after_update_age(backend: Backend) {
    let db = TestDb::new(backend).await;
    let new = new_session("alice", "sid-1", START);
    db.store.ensure(&new).await.expect("ensure");
    let update_age = 60;

    let early = db
        .store
        .touch(&new.token_hash, START + 59, START + 59 + HOUR, update_age)
        .await
        .expect("touch");
    let on_time = db
        .store
        .touch(&new.token_hash, START + 60, START + 60 + HOUR, update_age)
        .await
        .expect("touch");
    let record = db
        .store
        .find_by_token_hash(&new.token_hash)
        .await
        .expect("find")
        .expect("exists");

    assert!(!early, "a touch before update_age does not extend");
    assert!(on_time, "a touch at update_age extends");
    assert_eq!(record.last_seen_at, START + 60);
    assert_eq!(record.expires_at, START + 60 + HOUR);
}

async fn touch_skips_revoked_session(backend: Backend) {
    let db = TestDb::new(backend).await;
    let new = new_session("alice", "sid-1", START);
    let (_, record) = db.store.ensure(&new).await.expect("ensure");
    db.store
        .revoke("alice", &record.id, START)
        .await
        .expect("revoke");

    let extended = db
        .store
        .touch(&new.token_hash, START + HOUR / 2, START + 2 * HOUR, 0)
        .await
        .expect("touch");

    assert!(!extended);
}

async fn list_live_is_newest_first_without_dead_sessions(backend: Backend) {
    let db = TestDb::new(backend).await;
    let (_, oldest) = db
        .store
        .ensure(&new_session("alice", "sid-1", START))
        .await
        .expect("ensure");
    let (_, newest) = db
        .store
        .ensure(&new_session("alice", "sid-2", START + 10))
        .await
        .expect("ensure");
    let (_, revoked) = db
        .store
        .ensure(&new_session("alice", "sid-3", START + 20))
        .await
        .expect("ensure");
    db.store
        .revoke("alice", &revoked.id, START + 20)
        .await
        .expect("revoke");
    let mut short = new_session("alice", "sid-4", START + 30);
    short.expires_at = START + 40;
    db.store.ensure(&short).await.expect("ensure");
    db.store
        .ensure(&new_session("bob", "sid-5", START))
        .await
        .expect("ensure");

    let live = db.store.list_live("alice", START + 50).await.expect("list");

    let ids: Vec<&str> = live.iter().map(|record| record.id.as_str()).collect();
    assert_eq!(ids, [newest.id.as_str(), oldest.id.as_str()]);
}

async fn list_live_orders_same_second_by_creation(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut created = Vec::new();
    for sid in ["sid-a", "sid-b", "sid-c", "sid-d"] {
        let (_, record) = db
            .store
            .ensure(&new_session("alice", sid, START))
            .await
            .expect("ensure");
        created.push(record.id);
    }

    let live = db.store.list_live("alice", START).await.expect("list");

    let ids: Vec<&str> = live.iter().map(|record| record.id.as_str()).collect();
    let newest_first: Vec<&str> = created.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, newest_first);
}

async fn revoke_requires_owner(backend: Backend) {
    let db = TestDb::new(backend).await;
    let new = new_session("alice", "sid-1", START);
    let (_, record) = db.store.ensure(&new).await.expect("ensure");

    let by_other = db
        .store
        .revoke("mallory", &record.id, START)
        .await
        .expect("revoke");
    let after = db
        .store
        .find_by_token_hash(&new.token_hash)
        .await
        .expect("find")
        .expect("exists");
    let unknown = db
        .store
        .revoke("alice", "no-such-id", START)
        .await
        .expect("revoke");
    let by_owner = db
        .store
        .revoke("alice", &record.id, START)
        .await
        .expect("revoke");

    assert!(!by_other, "another user cannot revoke the session");
    assert!(after.is_live(START), "the session stays live");
    assert!(!unknown, "an unknown id is not found");
    assert!(by_owner, "the owner revokes it");
}

async fn revoke_keeps_first_revocation_time(backend: Backend) {
    let db = TestDb::new(backend).await;
    let new = new_session("alice", "sid-1", START);
    let (_, record) = db.store.ensure(&new).await.expect("ensure");

    db.store
        .revoke("alice", &record.id, START + 1)
        .await
        .expect("revoke");
    let again = db
        .store
        .revoke("alice", &record.id, START + 2)
        .await
        .expect("revoke");
    let after = db
        .store
        .find_by_token_hash(&new.token_hash)
        .await
        .expect("find")
        .expect("exists");

    assert!(again, "revoking twice still finds the session");
    assert_eq!(after.revoked_at, Some(START + 1));
}

async fn revoke_others_keeps_current(backend: Backend) {
    let db = TestDb::new(backend).await;
    let current = new_session("alice", "sid-current", START);
    db.store.ensure(&current).await.expect("ensure");
    db.store
        .ensure(&new_session("alice", "sid-2", START))
        .await
        .expect("ensure");
    db.store
        .ensure(&new_session("alice", "sid-3", START))
        .await
        .expect("ensure");
    db.store
        .ensure(&new_session("bob", "sid-4", START))
        .await
        .expect("ensure");

    let revoked = db
        .store
        .revoke_others("alice", &current.token_hash, START)
        .await
        .expect("revoke");
    let alice = db.store.list_live("alice", START).await.expect("list");
    let bob = db.store.list_live("bob", START).await.expect("list");

    assert_eq!(revoked, 2);
    assert_eq!(alice.len(), 1, "only the current session is left");
    assert_eq!(alice[0].token_hash, current.token_hash);
    assert_eq!(bob.len(), 1, "other users are untouched");
}

async fn revoke_all_for_user_counts_live_sessions(backend: Backend) {
    let db = TestDb::new(backend).await;
    db.store
        .ensure(&new_session("alice", "sid-1", START))
        .await
        .expect("ensure");
    let (_, already) = db
        .store
        .ensure(&new_session("alice", "sid-2", START))
        .await
        .expect("ensure");
    db.store
        .revoke("alice", &already.id, START)
        .await
        .expect("revoke");
    db.store
        .ensure(&new_session("alice", "sid-3", START))
        .await
        .expect("ensure");

    let revoked = db
        .store
        .revoke_all_for_user("alice", START + 1)
        .await
        .expect("revoke");
    let live = db.store.list_live("alice", START + 1).await.expect("list");

    assert_eq!(revoked, 2, "the already revoked session is not counted");
    assert!(live.is_empty());
}

async fn sweep_deletes_expired_but_keeps_revoked_unexpired(backend: Backend) {
    let db = TestDb::new(backend).await;
    let expired = new_session("alice", "sid-expired", START);
    db.store.ensure(&expired).await.expect("ensure");
    let revoked = new_session("alice", "sid-revoked", START + 2 * HOUR);
    let (_, revoked_record) = db.store.ensure(&revoked).await.expect("ensure");
    db.store
        .revoke("alice", &revoked_record.id, START + 2 * HOUR)
        .await
        .expect("revoke");
    let live = new_session("alice", "sid-live", START + 2 * HOUR);
    db.store.ensure(&live).await.expect("ensure");
    let leeway = 30;

    let deleted = sweep_once(&db.store, START + 2 * HOUR, leeway)
        .await
        .expect("sweep");

    assert_eq!(deleted, 1);
    let find = |hash: String| {
        let store = db.store.clone();
        async move { store.find_by_token_hash(&hash).await.expect("find") }
    };
    assert!(
        find(expired.token_hash).await.is_none(),
        "the expired row is gone"
    );
    assert!(
        find(revoked.token_hash).await.is_some(),
        "the revoked, unexpired row stays"
    );
    assert!(find(live.token_hash).await.is_some(), "the live row stays");
}

async fn ping_succeeds(backend: Backend) {
    let db = TestDb::new(backend).await;

    let result = db.store.ping().await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn in_memory_sqlite_keeps_one_database() {
    let store = origin_api::Store::connect("sqlite::memory:")
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");

    let (created, _) = store
        .ensure(&new_session("alice", "sid-1", START))
        .await
        .expect("ensure");
    let found = store
        .find_by_token_hash(&token_hash("sid-1"))
        .await
        .expect("find");

    assert!(created);
    assert!(
        found.is_some(),
        "the record is visible on the pool's connection"
    );
}
