//! `mak-crm demo-data`: fills an empty database with a living CRM —
//! Russian names, several pipelines, partners and franchisees, leads with a
//! few percent duplicate clients. Bulk SQL, so a million leads take seconds.

use serde::Serialize;
use sqlx::PgPool;

use crate::accounts::{self, AccountsError};
use crate::types::{Money, Role};

#[derive(Debug, Serialize)]
pub struct DemoSummary {
    pub partners: usize,
    pub franchisees: usize,
    pub clients: i64,
    pub leads: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("в базе уже есть лиды: демо-данные заполняют только пустую базу")]
    NotEmpty,
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    #[error(transparent)]
    Auction(#[from] crate::auction::AuctionError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Fills an empty database with `leads` demo leads. Demo users sign in with
/// the password `demo-password`.
pub async fn fill(pool: &PgPool, leads: i64) -> Result<DemoSummary, DemoError> {
    let existing: i64 = sqlx::query_scalar!(r#"select count(*) as "n!" from leads"#)
        .fetch_one(pool)
        .await?;
    if existing > 0 {
        return Err(DemoError::NotEmpty);
    }
    let admin = match sqlx::query_scalar!("select id from users where role = 'admin' order by created_at limit 1")
        .fetch_optional(pool)
        .await?
    {
        Some(id) => id,
        None => accounts::create_admin(pool, "admin@mak-crm.local", "demo-password", "Администратор").await?,
    };
    let admin = accounts::load_actor(pool, admin, current_epoch(pool, admin).await?, None)
        .await?
        .ok_or(DemoError::NotEmpty)?;
    let names = [
        "Смирнов Алексей",
        "Иванова Мария",
        "Кузнецов Дмитрий",
        "Попова Анна",
        "Васильев Сергей",
        "Петрова Елена",
    ];
    let mut partners = 0;
    let mut franchisees = 0;
    for (i, name) in names.iter().enumerate() {
        let role = if i < 4 { Role::Partner } else { Role::Franchisee };
        let email = format!("demo{}@mak-crm.local", i + 1);
        let id = accounts::register(
            pool,
            accounts::Registration {
                full_name: (*name).into(),
                email,
                password: "demo-password".into(),
                phone: format!("8 (9{:02}) 555-0{}-1{}", 10 + i, i, i),
                city: ["Москва", "Казань", "Екатеринбург", "Новосибирск", "Самара", "Пермь"][i].into(),
                niche: "Кредитный брокер".into(),
                legal_form: "ip".into(),
                inn: "500100732259".into(),
                company_name: format!("ИП {name}"),
                referral_code: String::new(),
                requested_role: role.as_str().into(),
                ip: None,
                passwordless: false,
            },
        )
        .await?;
        accounts::approve_registration(pool, &admin, id, role).await?;
        if role == Role::Partner {
            partners += 1
        } else {
            franchisees += 1
        }
    }
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "with p as (insert into pipelines (name, position) values ('Автокредиты', 1) returning id)
         insert into stages (pipeline_id, name, color, kind, position)
         select p.id, s.name, s.color, s.kind, s.position from p, (values
            ('Заявка', '#1f6feb', 'open', 0), ('Подбор банка', '#8250df', 'open', 1),
            ('Выдача', '#2da44e', 'won', 2), ('Отказ', '#cf222e', 'lost', 3)) as s (name, color, kind, position)"
    )
    .execute(&mut *tx)
    .await?;
    // Clients: one per lead, except ~3 % of leads that reuse an earlier
    // client (a returning customer: the duplicates to find).
    let clients = (leads as f64 * 0.97).ceil() as i64;
    sqlx::query!(
        r#"insert into clients (full_name, city, owner_id, consent_at, consent_method, consent_text_version, created_at)
           select (array['Смирнов','Иванов','Кузнецов','Попов','Васильев','Петров','Соколов','Михайлов','Новиков','Фёдоров',
                         'Морозов','Волков','Алексеев','Лебедев','Семёнов','Егоров','Павлов','Козлов','Степанов','Николаев'])[1 + i % 20]
                  || case when i % 2 = 0 then 'а ' else ' ' end
                  || (array['Анна','Иван','Мария','Пётр','Елена','Олег','Ольга','Сергей','Татьяна','Дмитрий',
                            'Наталья','Андрей','Ирина','Михаил','Юлия','Алексей'])[1 + (i / 20) % 16],
                  (array['Москва','Санкт-Петербург','Казань','Екатеринбург','Новосибирск','Самара','Пермь','Уфа'])[1 + i % 8],
                  $2, now() - make_interval(mins => i::int), 'demo', '2026-11', now() - make_interval(mins => i::int)
           from generate_series(1, $1::bigint) as g(i)"#,
        clients,
        admin.user_id
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"insert into client_phones (client_id, phone)
           select id, '+79' || lpad(((row_number() over (order by created_at, id)) * 7919 % 1000000000)::text, 9, '0')
           from clients"#
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"insert into client_emails (client_id, email)
           select id, 'client' || (row_number() over (order by created_at, id)) || '@example.ru'
           from clients where random() < 0.4"#
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"with c as (select id, row_number() over (order by created_at, id) as n from clients),
                s as (select id, pipeline_id, position from stages),
                partners as (select array_agg(id order by created_at) as ids from users where role = 'partner'),
                fr as (select array_agg(id order by created_at) as ids, array_agg(team_id order by created_at) as teams
                       from users where role = 'franchisee'),
                products as (select array_agg(id) as ids from dictionary_items where kind = 'product'),
                sources as (select array_agg(id) as ids from dictionary_items where kind = 'source'),
                st as (select array_agg(id order by pipeline_id, position) as ids, array_agg(pipeline_id order by pipeline_id, position) as pids from stages)
           insert into leads (client_id, product_id, amount_kopecks, source_id, pipeline_id, stage_id, unsorted,
                              responsible_id, partner_id, franchisee_id, team_id, created_by, created_at)
           select c.id,
                  products.ids[1 + g.i % cardinality(products.ids)],
                  (100000 + (g.i * 7927) % 9900000) * 100,
                  sources.ids[1 + g.i % cardinality(sources.ids)],
                  st.pids[1 + g.i % cardinality(st.ids)],
                  case when g.i % 17 = 0 then null else st.ids[1 + g.i % cardinality(st.ids)] end,
                  g.i % 17 = 0,
                  $2,
                  case when g.i % 5 = 0 then partners.ids[1 + g.i % cardinality(partners.ids)] end,
                  case when g.i % 7 = 0 then fr.ids[1 + g.i % cardinality(fr.ids)] end,
                  case when g.i % 7 = 0 then fr.teams[1 + g.i % cardinality(fr.ids)] end,
                  $2,
                  now() - make_interval(mins => g.i::int)
           from generate_series(1, $1::bigint) as g(i)
           join c on c.n = case when g.i <= $3 then g.i else 1 + (g.i * 31) % $3 end
           cross join partners cross join fr cross join products cross join sources cross join st"#,
        leads,
        admin.user_id,
        clients
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("analyze clients, client_phones, client_emails, leads")
        .execute(pool)
        .await?;
    // The auction: each franchisee company gets 50 000 ₽ and a few of the
    // newest HQ leads are up for bidding.
    let teams = sqlx::query_scalar!("select team_id from franchisees order by team_id")
        .fetch_all(pool)
        .await?;
    for team in teams {
        crate::auction::deposit(pool, &admin, team, Money::from_kopecks(5_000_000), "ДЕМО-1").await?;
    }
    let up = sqlx::query_scalar!(
        "select id from leads where franchisee_id is null and partner_id is null and deleted_at is null
         order by created_at desc limit 5"
    )
    .fetch_all(pool)
    .await?;
    if !up.is_empty() {
        crate::auction::create_lots(
            pool,
            &admin,
            crate::auction::NewLots {
                lead_ids: up,
                start_price: Money::from_kopecks(150_000),
                step: Money::from_kopecks(10_000),
                buy_now: Some(Money::from_kopecks(500_000)),
                reserve: None,
                ends_at: Some(chrono::Utc::now() + chrono::Duration::hours(24)),
                regions: vec![],
            },
        )
        .await?;
    }
    Ok(DemoSummary {
        partners,
        franchisees,
        clients,
        leads,
    })
}

async fn current_epoch(pool: &PgPool, id: uuid::Uuid) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!("select session_epoch from users where id = $1", id)
        .fetch_one(pool)
        .await
}
