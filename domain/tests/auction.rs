//! The lead auction: holds and releases under bidding (also 60 companies
//! at once), soft close, closing exactly once, masking, re-listing and
//! round-robin, returns with refunds, and the money's invariants.

mod common;

use common::*;
use domain::auction::{self, AuctionError, LotQuery, LotState, NewFranchisee, NewLots, ReturnReason};
use domain::types::Money;
use domain::{Actor, PgPool, Uuid};

fn rub(r: i64) -> Money {
    Money::from_kopecks(r * 100)
}

async fn company(pool: &PgPool, email: &str, deposit: i64) -> (Uuid, Actor) {
    let (team, user) = auction::create_franchisee(
        pool,
        NewFranchisee {
            email,
            full_name: "Франчайзи Тестовый",
            company: &format!("Офис {email}"),
            password: "franchisee-password",
            deposit: Some(rub(deposit)),
        },
    )
    .await
    .unwrap();
    (team, actor(pool, user).await)
}

async fn lead_on_lot(pool: &PgPool, admin: &Actor, phone: &str, start: i64, step: i64) -> (Uuid, Uuid, i64) {
    let (lead, number, _) = created(
        domain::leads::create_lead(pool, admin, lead("Петров Иван Сергеевич", phone))
            .await
            .unwrap(),
    );
    let lots = auction::create_lots(
        pool,
        admin,
        NewLots {
            lead_ids: vec![lead],
            start_price: rub(start),
            step: rub(step),
            buy_now: None,
            reserve: None,
            ends_at: None,
            regions: vec![],
        },
    )
    .await
    .unwrap();
    (lots[0], lead, number)
}

/// Every company's balance equals its ledger sum, nothing is negative, and
/// what is held equals the leading bids on open lots.
async fn money_adds_up(pool: &PgPool) {
    let bad: i64 = sqlx::query_scalar(
        "select count(*) from ledger_accounts a
         where a.balance_kopecks <> (select coalesce(sum(amount_kopecks), 0) from ledger_entries e where e.account_id = a.id)
            or (not a.allow_negative and a.balance_kopecks < 0)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(bad, 0, "an account disagrees with its entries or went negative");
    let held_wrong: i64 = sqlx::query_scalar(
        "select count(*) from franchisees f
         where coalesce((select balance_kopecks from ledger_accounts where kind = 'franchisee_held' and team_id = f.team_id), 0)
            <> coalesce((select sum(price_kopecks) from lots where leader_team_id = f.team_id and state = 'open'), 0)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(held_wrong, 0, "holds differ from the leading bids");
}

async fn expire(pool: &PgPool, lot: Uuid) {
    sqlx::query(
        "update lots set ends_at = now() - interval '1 second', starts_at = now() - interval '1 hour' where id = $1",
    )
    .bind(lot)
    .execute(pool)
    .await
    .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn bids_hold_and_release_and_the_winner_gets_the_lead(pool: PgPool) {
    let admin = admin(&pool).await;
    let (a_team, a) = company(&pool, "a@mak.test", 10_000).await;
    let (b_team, b) = company(&pool, "b@mak.test", 3_000).await;
    let (lot, lead, number) = lead_on_lot(&pool, &admin, "+79161234567", 1_000, 100).await;

    // Masked everywhere before the sale.
    let list = auction::list_lots(&pool, &a, LotQuery::Open).await.unwrap();
    assert_eq!(list.lots.len(), 1);
    let view = &list.lots[0];
    assert_eq!(view.client, "Петров И.");
    assert_eq!(view.phone.as_deref(), Some("+7 (916) ***-**-67"));
    assert_eq!(view.lead_number, None, "the lead's number opens to the winner only");
    let json = serde_json::to_string(&auction::get_lot(&pool, &a, lot).await.unwrap()).unwrap();
    assert!(!json.contains("1234567") && !json.contains("Сергеевич"), "{json}");
    assert!(domain::leads::get_lead(&pool, &a, number).await.is_err());

    let r = auction::place_bid(&pool, &a, lot, rub(999)).await;
    assert!(
        matches!(r, Err(AuctionError::BidTooLow { minimum }) if minimum == rub(1_000)),
        "{r:?}"
    );
    auction::place_bid(&pool, &a, lot, rub(1_000)).await.unwrap();
    assert_eq!(auction::balance(&pool, &a, a_team).await.unwrap().held, rub(1_000));
    let r = auction::place_bid(&pool, &b, lot, rub(1_050)).await;
    assert!(
        matches!(r, Err(AuctionError::BidTooLow { minimum }) if minimum == rub(1_100)),
        "{r:?}"
    );
    auction::place_bid(&pool, &b, lot, rub(1_100)).await.unwrap();
    // A is whole again, B holds its bid.
    let ab = auction::balance(&pool, &a, a_team).await.unwrap();
    assert_eq!(
        (ab.available, ab.held, ab.balance),
        (rub(10_000), Money::ZERO, rub(10_000))
    );
    assert_eq!(ab.ledger_sum, ab.balance);
    let bb = auction::balance(&pool, &b, b_team).await.unwrap();
    assert_eq!((bb.available, bb.held), (rub(1_900), rub(1_100)));
    // A heard of it.
    let bell: i64 =
        sqlx::query_scalar("select count(*) from notifications where user_id = $1 and title = 'Вашу ставку перебили'")
            .bind(a.user_id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(bell, 1);
    // B can't bid above its money; a company can't see another's balance.
    let r = auction::place_bid(&pool, &b, lot, rub(5_000)).await;
    assert!(
        matches!(r, Err(AuctionError::NotEnoughMoney { available }) if available == rub(3_000)),
        "{r:?}"
    );
    assert!(auction::balance(&pool, &b, a_team).await.is_err());
    auction::place_bid(&pool, &a, lot, rub(1_500)).await.unwrap();
    money_adds_up(&pool).await;

    // While on auction the lead can't be reassigned.
    let staff = user_with_role(&pool, &admin, "e@mak.test", domain::types::Role::Employee).await;
    let r = domain::leads::update_lead(
        &pool,
        &admin,
        lead,
        domain::leads::LeadUpdate {
            responsible_id: Some(Some(staff.user_id)),
            ..Default::default()
        },
    )
    .await;
    assert!(matches!(r, Err(domain::leads::LeadsError::OnAuction)), "{r:?}");

    expire(&pool, lot).await;
    assert_eq!(auction::close_due(&pool).await.unwrap(), 1);
    assert_eq!(auction::close_due(&pool).await.unwrap(), 0, "closed once");
    let ab = auction::balance(&pool, &a, a_team).await.unwrap();
    assert_eq!(
        (ab.available, ab.held, ab.balance),
        (rub(8_500), Money::ZERO, rub(8_500))
    );
    let bb = auction::balance(&pool, &b, b_team).await.unwrap();
    assert_eq!((bb.available, bb.held), (rub(3_000), Money::ZERO));
    // The full lead is the winner's now, and only theirs.
    let card = domain::leads::get_lead(&pool, &a, number).await.unwrap();
    assert_eq!(card.phones, vec!["+79161234567".to_string()]);
    assert_eq!(card.lead.status.as_deref(), Some("Куплен"));
    assert!(domain::leads::get_lead(&pool, &b, number).await.is_err());
    let won = auction::list_lots(&pool, &a, LotQuery::Won).await.unwrap();
    assert_eq!(won.lots[0].lead_number, Some(number));
    let lines = auction::ledger_page(&pool, &a, a_team, Default::default())
        .await
        .unwrap();
    let kinds: Vec<&str> = lines.items.iter().map(|l| l.kind.as_str()).collect();
    assert_eq!(kinds, ["capture", "hold", "release", "hold", "deposit"]);
    money_adds_up(&pool).await;

    // A return within the window, with the file the buyer put on the card
    // as its evidence, approved: the price comes back.
    sqlx::query(
        "insert into lead_files (lead_id, name, size_bytes, storage_key, uploaded_by) values ($1, 'звонок.mp3', 10, 'k1', $2)",
    )
    .bind(lead)
    .bind(a.user_id)
    .execute(&pool)
    .await
    .unwrap();
    let ret = auction::request_return(&pool, &a, lead, ReturnReason::WrongNumber, "Номер не существует")
        .await
        .unwrap();
    let r = auction::request_return(&pool, &a, lead, ReturnReason::WrongNumber, "").await;
    assert!(matches!(r, Err(AuctionError::ReturnExists)), "{r:?}");
    assert!(
        auction::decide_return(&pool, &a, ret, true, "").await.is_err(),
        "buyers don't moderate"
    );
    let listed = auction::list_returns(&pool, &admin).await.unwrap();
    assert_eq!(listed[0].file.as_ref().map(|f| f.1.as_str()), Some("звонок.mp3"));
    assert_eq!(
        auction::list_returns(&pool, &b).await.unwrap().len(),
        0,
        "another company's returns stay hidden"
    );
    auction::decide_return(&pool, &admin, ret, true, "").await.unwrap();
    let r = auction::decide_return(&pool, &admin, ret, true, "").await;
    assert!(matches!(r, Err(AuctionError::AlreadyDecided)), "{r:?}");
    assert_eq!(
        auction::balance(&pool, &a, a_team).await.unwrap().available,
        rub(10_000)
    );
    assert!(
        domain::leads::get_lead(&pool, &a, number).await.is_err(),
        "the lead went back to HQ"
    );
    money_adds_up(&pool).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_late_bid_extends_the_end_and_buy_now_ends_at_once(pool: PgPool) {
    let admin = admin(&pool).await;
    let (_, a) = company(&pool, "a@mak.test", 10_000).await;
    let (lot, _, _) = lead_on_lot(&pool, &admin, "+79161234500", 1_000, 100).await;
    sqlx::query("update lots set ends_at = now() + interval '30 seconds', buy_now_kopecks = 500000 where id = $1")
        .bind(lot)
        .execute(&pool)
        .await
        .unwrap();
    let out = auction::place_bid(&pool, &a, lot, rub(1_000)).await.unwrap();
    assert!(out.extended);
    let left = out.ends_at - chrono::Utc::now();
    assert!(left > chrono::Duration::seconds(110), "{left:?}");
    let out = auction::buy_now(&pool, &a, lot).await.unwrap();
    assert!(out.bought);
    assert_eq!(out.price, rub(5_000));
    let d = auction::get_lot(&pool, &a, lot).await.unwrap();
    assert_eq!(d.lot.state, LotState::Sold);
    let r = auction::place_bid(&pool, &a, lot, rub(6_000)).await;
    assert!(matches!(r, Err(AuctionError::LotClosed)), "{r:?}");
    money_adds_up(&pool).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn sixty_companies_bidding_at_once_leave_one_consistent_history(pool: PgPool) {
    let admin = admin(&pool).await;
    let mut bidders = vec![];
    for i in 0..60 {
        bidders.push(company(&pool, &format!("f{i}@mak.test"), 100_000).await.1);
    }
    let (lot, _, _) = lead_on_lot(&pool, &admin, "+79161234511", 1_000, 10).await;
    let mut tasks = tokio::task::JoinSet::new();
    for b in bidders {
        let pool = pool.clone();
        tasks.spawn(async move {
            let mut accepted = 0;
            for _ in 0..5 {
                let d = auction::get_lot(&pool, &b, lot).await.unwrap();
                if auction::place_bid(&pool, &b, lot, d.lot.min_bid).await.is_ok() {
                    accepted += 1;
                }
            }
            accepted
        });
    }
    let mut accepted = 0;
    while let Some(n) = tasks.join_next().await {
        accepted += n.unwrap();
    }
    let amounts: Vec<i64> = sqlx::query_scalar("select amount_kopecks from bids where lot_id = $1 order by id")
        .bind(lot)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(amounts.len(), accepted);
    assert!(accepted > 0);
    assert!(amounts.windows(2).all(|w| w[0] < w[1]), "history goes up");
    let (price, count): (i64, i32) = sqlx::query_as("select price_kopecks, bids_count from lots where id = $1")
        .bind(lot)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(price, *amounts.last().unwrap());
    assert_eq!(count as usize, accepted);
    money_adds_up(&pool).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn an_unsold_lead_is_relisted_cheaper_then_handed_out_in_turn(pool: PgPool) {
    let admin = admin(&pool).await;
    let (a_team, a) = company(&pool, "a@mak.test", 1_000).await;
    let (b_team, _) = company(&pool, "b@mak.test", 1_000).await;
    let mut s = auction::auction_settings(&pool, &admin).await.unwrap();
    s.relist_times = 1;
    s.relist_discount_percent = 20;
    auction::set_auction_settings(&pool, &admin, s).await.unwrap();
    let (lot, lead, number) = lead_on_lot(&pool, &admin, "+79161234522", 1_000, 100).await;
    expire(&pool, lot).await;
    auction::close_due(&pool).await.unwrap();
    let open = auction::list_lots(&pool, &a, LotQuery::Open).await.unwrap();
    assert_eq!(open.lots.len(), 1);
    assert_eq!(open.lots[0].round, 2);
    assert_eq!(open.lots[0].start_price, rub(800));
    expire(&pool, open.lots[0].id).await;
    auction::close_due(&pool).await.unwrap();
    assert!(auction::list_lots(&pool, &a, LotQuery::Open)
        .await
        .unwrap()
        .lots
        .is_empty());
    let team: Option<Uuid> = sqlx::query_scalar("select team_id from leads where id = $1")
        .bind(lead)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(team == Some(a_team) || team == Some(b_team), "{team:?}");
    let timeline = domain::leads::get_lead(&pool, &admin, number).await.unwrap().timeline;
    let steps: Vec<&str> = timeline.iter().map(|t| t.kind.as_str()).collect();
    assert!(
        steps.contains(&"auction_assigned") && steps.contains(&"auction_listed"),
        "{steps:?}"
    );
    // The next unsold lead goes to the other company.
    let (lot2, lead2, _) = lead_on_lot(&pool, &admin, "+79161234533", 1_000, 100).await;
    expire(&pool, lot2).await;
    auction::close_due(&pool).await.unwrap();
    let relisted: Uuid = sqlx::query_scalar("select id from lots where lead_id = $1 and state = 'open'")
        .bind(lead2)
        .fetch_one(&pool)
        .await
        .unwrap();
    expire(&pool, relisted).await;
    auction::close_due(&pool).await.unwrap();
    let team2: Option<Uuid> = sqlx::query_scalar("select team_id from leads where id = $1")
        .bind(lead2)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(team2.is_some() && team2 != team, "round robin: {team:?} then {team2:?}");
    money_adds_up(&pool).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn deposits_count_once_and_corrections_never_overdraw(pool: PgPool) {
    let admin = admin(&pool).await;
    let (team, a) = company(&pool, "a@mak.test", 0).await;
    auction::deposit(&pool, &admin, team, rub(5_000), "ПП-17")
        .await
        .unwrap();
    auction::deposit(&pool, &admin, team, rub(5_000), "ПП-17")
        .await
        .unwrap();
    assert_eq!(auction::balance(&pool, &a, team).await.unwrap().available, rub(5_000));
    assert!(
        auction::deposit(&pool, &a, team, rub(1), "x").await.is_err(),
        "franchisees don't deposit"
    );
    let r = auction::correct_balance(&pool, &admin, team, Money::from_kopecks(-600_000), "ошибка").await;
    assert!(matches!(r, Err(AuctionError::Validation(_))), "{r:?}");
    auction::correct_balance(&pool, &admin, team, Money::from_kopecks(-100_000), "штраф")
        .await
        .unwrap();
    assert_eq!(auction::balance(&pool, &a, team).await.unwrap().available, rub(4_000));
    money_adds_up(&pool).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rule_puts_arriving_leads_up_once_and_a_filter_puts_up_what_it_matches(pool: PgPool) {
    let admin = admin(&pool).await;
    let source: Uuid =
        sqlx::query_scalar("select id from dictionary_items where kind = 'source' and name = 'Лидогенерация'")
            .fetch_one(&pool)
            .await
            .unwrap();
    let r = auction::save_rule(
        &pool,
        &admin,
        auction::Rule {
            id: None,
            name: "Всё из лидогенерации".into(),
            source_id: None,
            product_id: None,
            city: None,
            start_price: rub(500),
            step: rub(50),
            buy_now: None,
            duration_minutes: 30,
            active: true,
        },
    )
    .await;
    assert!(
        matches!(r, Err(AuctionError::Validation(_))),
        "a rule for every lead is refused: {r:?}"
    );
    auction::save_rule(
        &pool,
        &admin,
        auction::Rule {
            id: None,
            name: "Всё из лидогенерации".into(),
            source_id: Some(source),
            product_id: None,
            city: None,
            start_price: rub(500),
            step: rub(50),
            buy_now: None,
            duration_minutes: 30,
            active: true,
        },
    )
    .await
    .unwrap();
    let (matching, ..) = created(
        domain::leads::create_lead(&pool, &admin, lead("Лидген Первый", "+79160000001"))
            .await
            .unwrap(),
    );
    let (other, ..) = created(
        domain::leads::create_lead(&pool, &admin, lead("Другой Источник", "+79160000002"))
            .await
            .unwrap(),
    );
    sqlx::query("update leads set source_id = $1 where id = $2")
        .bind(source)
        .bind(matching)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(auction::apply_rules(&pool).await.unwrap(), 1);
    assert_eq!(auction::apply_rules(&pool).await.unwrap(), 0, "once");
    let on_lot: Vec<Uuid> = sqlx::query_scalar("select lead_id from lots")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(on_lot, vec![matching]);
    // A cancelled lot's lead is not put up again by the rule.
    let lot: Uuid = sqlx::query_scalar("select id from lots")
        .fetch_one(&pool)
        .await
        .unwrap();
    auction::cancel_lot(&pool, &admin, lot).await.unwrap();
    assert_eq!(auction::apply_rules(&pool).await.unwrap(), 0);

    // Everything a filter matches (here: a quick search).
    let f = domain::leads::LeadFilter::from_query("q=Другой").unwrap();
    let ids = auction::create_lots_for_filter(
        &pool,
        &admin,
        &f,
        NewLots {
            lead_ids: vec![],
            start_price: rub(700),
            step: rub(70),
            buy_now: None,
            reserve: None,
            ends_at: None,
            regions: vec![],
        },
    )
    .await
    .unwrap();
    assert_eq!(ids.len(), 1);
    let lead_of: Uuid = sqlx::query_scalar("select lead_id from lots where id = $1")
        .bind(ids[0])
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(lead_of, other);
    let s = auction::summary(&pool, &admin, chrono::Utc::now() - chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!((s.open, s.cancelled), (1, 1));
}

#[sqlx::test(migrations = "../migrations")]
async fn three_closers_at_once_close_every_lot_exactly_once(pool: PgPool) {
    let admin = admin(&pool).await;
    let (_, a) = company(&pool, "a@mak.test", 1_000_000).await;
    let mut lots = vec![];
    for i in 0..30 {
        let (lot, _, _) = lead_on_lot(&pool, &admin, &format!("+7916777{i:04}"), 100, 10).await;
        auction::place_bid(&pool, &a, lot, rub(100)).await.unwrap();
        lots.push(lot);
    }
    sqlx::query("update lots set starts_at = now() - interval '1 hour', ends_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    let mut closers = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let pool = pool.clone();
        closers.spawn(async move { auction::close_due(&pool).await.unwrap() });
    }
    let mut closed = 0;
    while let Some(n) = closers.join_next().await {
        closed += n.unwrap();
    }
    assert_eq!(closed, 30, "each lot closed by exactly one closer");
    let captures: i64 = sqlx::query_scalar("select count(*) from ledger_transfers where kind = 'capture'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(captures, 30);
    let sold: i64 = sqlx::query_scalar("select count(*) from lots where state = 'sold'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sold, 30);
    money_adds_up(&pool).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn limits_regions_and_cancelling_hold_the_line(pool: PgPool) {
    let admin = admin(&pool).await;
    let (team, a) = company(&pool, "a@mak.test", 100_000).await;
    let limits = |spend: Option<i64>, lots: Option<i32>, regions: Vec<&str>| auction::CompanyLimits {
        daily_spend_cap: spend.map(rub),
        daily_lots_cap: lots,
        regions: regions.into_iter().map(str::to_string).collect(),
        product_ids: vec![],
        responsible_id: None,
    };
    // A spend cap counts what the company holds too.
    auction::edit_company(&pool, &admin, team, limits(Some(1_500), None, vec![]))
        .await
        .unwrap();
    let (first, ..) = lead_on_lot(&pool, &admin, "+79168880001", 1_000, 100).await;
    let (second, ..) = lead_on_lot(&pool, &admin, "+79168880002", 1_000, 100).await;
    auction::place_bid(&pool, &a, first, rub(1_000)).await.unwrap();
    let r = auction::place_bid(&pool, &a, second, rub(1_000)).await;
    assert!(matches!(r, Err(AuctionError::SpendCapReached)), "{r:?}");
    // Raising one's own bid counts the new amount, not both.
    auction::place_bid(&pool, &a, first, rub(1_500)).await.unwrap();
    // A lots cap of one: leading one lot, a second bid is refused.
    auction::edit_company(&pool, &admin, team, limits(None, Some(1), vec![]))
        .await
        .unwrap();
    let r = auction::place_bid(&pool, &a, second, rub(1_000)).await;
    assert!(matches!(r, Err(AuctionError::LotsCapReached)), "{r:?}");
    // Cancelling the lot gives the held money back.
    auction::cancel_lot(&pool, &admin, first).await.unwrap();
    let b = auction::balance(&pool, &a, team).await.unwrap();
    assert_eq!((b.available, b.held), (rub(100_000), Money::ZERO));
    auction::place_bid(&pool, &a, second, rub(1_000)).await.unwrap();
    // A lot for Kazan only is neither shown to nor biddable by a Moscow office.
    auction::edit_company(&pool, &admin, team, limits(None, None, vec!["Москва"]))
        .await
        .unwrap();
    let (lead, ..) = created(
        domain::leads::create_lead(&pool, &admin, lead("Казанский Клиент", "+79168880003"))
            .await
            .unwrap(),
    );
    let kazan = auction::create_lots(
        &pool,
        &admin,
        NewLots {
            lead_ids: vec![lead],
            start_price: rub(500),
            step: rub(50),
            buy_now: None,
            reserve: None,
            ends_at: None,
            regions: vec!["Казань".into()],
        },
    )
    .await
    .unwrap()[0];
    let open = auction::list_lots(&pool, &a, LotQuery::Open).await.unwrap();
    assert!(open.lots.iter().all(|l| l.id != kazan), "not shown");
    let r = auction::place_bid(&pool, &a, kazan, rub(500)).await;
    assert!(matches!(r, Err(AuctionError::NotForYou)), "{r:?}");
    money_adds_up(&pool).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn an_extra_field_marked_public_shows_on_the_lot_and_others_do_not(pool: PgPool) {
    let admin = admin(&pool).await;
    let (_, a) = company(&pool, "a@mak.test", 1_000).await;
    let public = domain::leads::add_custom_field(&pool, &admin, "Стаж, лет", "number", &[])
        .await
        .unwrap();
    let private = domain::leads::add_custom_field(&pool, &admin, "Паспорт", "text", &[])
        .await
        .unwrap();
    domain::leads::set_field_public_on_lots(&pool, &admin, public.id, true)
        .await
        .unwrap();
    assert!(
        domain::leads::set_field_public_on_lots(&pool, &a, private.id, true)
            .await
            .is_err(),
        "franchisees don't choose"
    );
    let mut new = lead("Полевой Пётр", "+79169990001");
    new.extra.insert(public.key.clone(), "12".into());
    new.extra.insert(private.key.clone(), "4510 123456".into());
    let (id, ..) = created(domain::leads::create_lead(&pool, &admin, new).await.unwrap());
    auction::create_lots(
        &pool,
        &admin,
        NewLots {
            lead_ids: vec![id],
            start_price: rub(100),
            step: rub(10),
            buy_now: None,
            reserve: None,
            ends_at: None,
            regions: vec![],
        },
    )
    .await
    .unwrap();
    let lots = auction::list_lots(&pool, &a, LotQuery::Open).await.unwrap();
    assert_eq!(lots.lots[0].extra, vec![("Стаж, лет".to_string(), "12".to_string())]);
    let json = serde_json::to_string(&lots).unwrap();
    assert!(!json.contains("4510"), "{json}");
}
