//! `/events`: each viewer gets the topics of what changed that it may see,
//! and a burst of changes arrives as a few coalesced batches.

use std::time::Duration;

use crate::helpers::*;
use domain::types::Role;
use domain::PgPool;
use leptos::server_fn::ServerFn;

/// Signs `client` in with a password, as the sign-in page does.
async fn sign_in(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) {
    let r = client
        .post(app.url(<app::pages::auth::api::SignIn as ServerFn>::PATH))
        .header("origin", app.base.clone())
        .header("accept", "application/json")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}: {}", r.status(), r.text().await.unwrap());
}

fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

/// Reads `/events` messages (their `data:` JSON) until `quiet` passes with
/// nothing new after `until` resolves.
struct Stream(reqwest::Response, String);

impl Stream {
    async fn open(app: &TestApp, client: &reqwest::Client) -> Self {
        let r = client.get(app.url("/events")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let mut s = Stream(r, String::new());
        // The greeting says the stream is subscribed.
        let first = s.next(Duration::from_secs(5)).await.expect("hello");
        assert_eq!(first, serde_json::json!({}));
        s
    }

    async fn next(&mut self, wait: Duration) -> Option<serde_json::Value> {
        loop {
            if let Some(end) = self.1.find("\n\n") {
                let block: String = self.1.drain(..end + 2).collect();
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim)
                    .collect();
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(serde_json::from_str(&data).unwrap());
            }
            match tokio::time::timeout(wait, self.0.chunk()).await {
                Ok(Ok(Some(bytes))) => self.1.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Every message until the stream is quiet for `quiet`.
    async fn drain(&mut self, quiet: Duration) -> Vec<serde_json::Value> {
        let mut all = Vec::new();
        while let Some(m) = self.next(quiet).await {
            all.push(m);
        }
        all
    }
}

fn topics(messages: &[serde_json::Value]) -> Vec<String> {
    messages
        .iter()
        .flat_map(|m| m["topics"].as_array().cloned().unwrap_or_default())
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_burst_of_changes_arrives_coalesced_and_only_to_who_may_see_it(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "partner@mak.test", Role::Partner).await;
    let (staff, outsider) = (cookie_client(), cookie_client());
    sign_in(&app, &staff, "admin@mak.test", "admin-password").await;
    sign_in(&app, &outsider, "partner@mak.test", "partner-password").await;
    let mut seen_by_staff = Stream::open(&app, &staff).await;
    let mut seen_by_partner = Stream::open(&app, &outsider).await;

    // 200 leads created one after another (200 commits, 200 notifications).
    let started = std::time::Instant::now();
    let mut ids = Vec::new();
    for n in 0..200 {
        let out = domain::leads::create_lead(
            &pool,
            &admin,
            domain::leads::NewLead {
                client_name: format!("Клиент {n}"),
                phone: format!("+7 916 100 {n:04}"),
                consent: true,
                origin: "test".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let domain::leads::CreateOutcome::Created { id, .. } = out else {
            panic!("not created")
        };
        ids.push(id);
    }
    let took = started.elapsed();
    let staff_msgs = seen_by_staff.drain(Duration::from_secs(2)).await;
    let batches_allowed = (took.as_millis() / 250 + 3) as usize;
    assert!(
        !staff_msgs.is_empty() && staff_msgs.len() <= batches_allowed,
        "200 changes in {took:?} came as {} messages (at most {batches_allowed})",
        staff_msgs.len()
    );
    let got = topics(&staff_msgs);
    assert!(got.iter().any(|t| t == "leads"), "{got:?}");
    // Many leads in one window are one `lead:*`, never 200 names.
    assert!(got.iter().filter(|t| t.starts_with("lead:")).count() < 200, "{got:?}");
    assert!(
        got.iter().any(|t| t == "lead:*" || t == &format!("lead:{}", ids[199])),
        "{got:?}"
    );

    // The partner may not see the admin's leads: nothing about them arrives.
    let partner_msgs = seen_by_partner.drain(Duration::from_millis(300)).await;
    assert!(
        topics(&partner_msgs).iter().all(|t| !t.starts_with("lead")),
        "{partner_msgs:?}"
    );

    // One change after a quiet moment is sent at once, by name.
    tokio::time::sleep(Duration::from_millis(300)).await;
    domain::leads::add_comment(&pool, &admin, ids[7], "Перезвонить завтра")
        .await
        .unwrap();
    let one = seen_by_staff.next(Duration::from_secs(2)).await.expect("a batch");
    assert_eq!(one["topics"], serde_json::json!(["leads", format!("lead:{}", ids[7])]));

    // The partner's own record is `me` to the partner and `users` to staff.
    domain::accounts::change_role(&pool, &admin, partner.user_id, Role::Franchisee)
        .await
        .unwrap();
    let to_partner = topics(&seen_by_partner.drain(Duration::from_millis(600)).await);
    assert!(to_partner.contains(&"me".to_string()), "{to_partner:?}");
    let to_staff = topics(&seen_by_staff.drain(Duration::from_millis(600)).await);
    assert!(
        to_staff.contains(&"users".to_string()) && !to_staff.contains(&"me".to_string()),
        "{to_staff:?}"
    );
}
