//! One leader at a time; another replica takes over when the leader resigns or its lease
//! expires.

use std::time::Duration;

use scheduler::leader::Leadership;
use testkit::TestWorld;

#[tokio::test]
async fn only_one_replica_leads_and_another_takes_over_when_it_resigns() {
    let world = TestWorld::start().await;
    let ttl = Duration::from_secs(30);
    let mut a = Leadership::new("a".into(), ttl);
    let mut b = Leadership::new("b".into(), ttl);

    assert!(a.refresh(&world.pool).await.unwrap());
    assert!(!b.refresh(&world.pool).await.unwrap());
    assert!(a.refresh(&world.pool).await.unwrap(), "the leader renews");
    a.resign(&world.pool).await;
    assert!(!a.is_leader());
    assert!(b.refresh(&world.pool).await.unwrap());
    assert!(!a.refresh(&world.pool).await.unwrap());
}

#[tokio::test]
async fn an_expired_lease_passes_to_another_replica_with_a_new_term() {
    let world = TestWorld::start().await;
    let ttl = Duration::from_secs(30);
    let mut a = Leadership::new("a".into(), ttl);
    let mut b = Leadership::new("b".into(), ttl);
    assert!(a.refresh(&world.pool).await.unwrap());

    // The leader stops renewing (crashed); its lease runs out.
    let client = world.pool.get().await.unwrap();
    client
        .execute(
            "UPDATE leader_leases SET expires_at = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();

    assert!(b.refresh(&world.pool).await.unwrap());
    let term: i64 = client
        .query_one("SELECT term FROM leader_leases WHERE holder = 'b'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(term, 2);
    assert!(
        !a.refresh(&world.pool).await.unwrap(),
        "the old leader learns it lost"
    );
}
