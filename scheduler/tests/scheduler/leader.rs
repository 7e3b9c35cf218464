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

#[tokio::test]
async fn the_scheduler_binary_resigns_and_exits_zero_on_sigterm() {
    let world = TestWorld::start().await;
    let mut scheduler = testkit::process::ChildProcess::spawn(
        "scheduler",
        std::path::Path::new(env!("CARGO_BIN_EXE_scheduler")),
        world.env(),
    );
    let client = world.pool.get().await.unwrap();
    testkit::eventually("the scheduler to lead", Duration::from_secs(30), || async {
        let leaders: i64 = client
            .query_one("SELECT count(*) FROM leader_leases", &[])
            .await
            .unwrap()
            .get(0);
        (leaders == 1).then_some(())
    })
    .await;

    scheduler.terminate();

    let status = scheduler.wait_exit(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}\n{}", scheduler.log());
    let leaders: i64 = client
        .query_one("SELECT count(*) FROM leader_leases", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        leaders, 0,
        "the lease was given up, so another replica takes over at once"
    );
    world.stop().await;
}
