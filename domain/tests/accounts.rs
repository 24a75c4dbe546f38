mod common;

use common::*;
use domain::accounts::{self, AccountsError, SignIn};
use domain::types::Role;
use domain::PgPool;

#[sqlx::test(migrations = "../migrations")]
async fn registration_with_bad_fields_reports_each_field_in_russian(pool: PgPool) {
    let mut r = registration("not-an-email");
    r.inn = "7707083894".into();
    r.phone = "123".into();
    r.password = "short".into();
    r.full_name = " ".into();
    r.referral_code = "NOSUCH".into();
    let Err(AccountsError::Validation(fields)) = accounts::register(&pool, r).await else {
        panic!("expected validation errors");
    };
    let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
    for f in ["email", "inn", "phone", "password", "full_name", "referral_code"] {
        assert!(names.contains(&f), "{f} missing from {names:?}");
    }
    assert!(fields.iter().any(|f| f.message == "Неверная контрольная сумма ИНН"));
    let n: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0, "nothing is written on bad input");
}

#[sqlx::test(migrations = "../migrations")]
async fn registration_creates_a_pending_guest_notifies_admins_and_is_audited(pool: PgPool) {
    let admin = admin(&pool).await;
    let id = accounts::register(&pool, registration("Partner@Example.ru"))
        .await
        .unwrap();
    let (role, status, email, phone): (String, String, String, String) =
        sqlx::query_as("select role, status, email, phone from users where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((role.as_str(), status.as_str()), ("guest", "pending"));
    assert_eq!(email, "partner@example.ru");
    assert_eq!(phone, "+79991234567");
    assert_eq!(domain::notifications::unread_count(&pool, &admin).await.unwrap(), 1);
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where entity = 'user' and action = 'register' and entity_id = $1",
    )
    .bind(id.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_second_registration_with_the_same_email_is_refused(pool: PgPool) {
    accounts::register(&pool, registration("p@example.ru")).await.unwrap();
    let Err(AccountsError::Validation(f)) = accounts::register(&pool, registration("P@example.ru")).await else {
        panic!("expected refusal");
    };
    assert_eq!(f[0].field, "email");
}

#[sqlx::test(migrations = "../migrations")]
async fn approval_as_partner_gives_a_referral_code_and_a_referral_works(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p1@example.ru", Role::Partner).await;
    assert_eq!(partner.role, Role::Partner);
    let code: String = sqlx::query_scalar("select referral_code from users where id = $1")
        .bind(partner.user_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(code.len(), 8);
    let mut r = registration("p2@example.ru");
    r.referral_code = code.to_lowercase();
    let id = accounts::register(&pool, r).await.unwrap();
    let by: Option<uuid::Uuid> = sqlx::query_scalar("select referred_by from users where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(by, Some(partner.user_id));
    let again = accounts::approve_registration(&pool, &admin, partner.user_id, Role::Partner).await;
    assert!(
        matches!(again, Err(AccountsError::AlreadyDecided)),
        "an application is decided once"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn twenty_wrong_passwords_from_many_addresses_lock_the_account_for_fifteen_minutes(pool: PgPool) {
    admin(&pool).await;
    for i in 0..20 {
        let r = sign_in(&pool, "admin@mak.test", "wrong", &format!("10.0.{}.{}", i / 4, i % 4)).await;
        assert!(matches!(r, Err(AccountsError::InvalidCredentials)), "{i}: {r:?}");
    }
    let r = sign_in(&pool, "admin@mak.test", "admin-password", "10.0.2.1").await;
    let Err(e @ AccountsError::Throttled { .. }) = r else {
        panic!("expected throttling, got {r:?}")
    };
    assert!(e
        .to_string()
        .starts_with("Слишком много неудачных попыток входа. Повторите после"));
    sqlx::query("update login_attempts set created_at = created_at - interval '16 minutes'")
        .execute(&pool)
        .await
        .unwrap();
    done(
        sign_in(&pool, "admin@mak.test", "admin-password", "10.0.2.1")
            .await
            .unwrap(),
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn one_address_can_not_lock_the_admin_out_and_parallel_guesses_get_five_tries(pool: PgPool) {
    admin(&pool).await;
    let guesses = (0..12).map(|_| {
        let pool = pool.clone();
        tokio::spawn(async move { sign_in(&pool, "admin@mak.test", "wrong", "10.7.7.7").await })
    });
    let mut wrong = 0;
    for g in guesses {
        match g.await.unwrap() {
            Err(AccountsError::InvalidCredentials) => wrong += 1,
            Err(AccountsError::Throttled { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(wrong, 5, "twelve parallel guesses, five checked");
    assert!(matches!(
        sign_in(&pool, "admin@mak.test", "admin-password", "10.7.7.7").await,
        Err(AccountsError::Throttled { .. })
    ));
    done(
        sign_in(&pool, "admin@mak.test", "admin-password", "10.7.7.8")
            .await
            .unwrap(),
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn five_failures_from_one_ip_lock_that_ip_for_any_account(pool: PgPool) {
    admin(&pool).await;
    for i in 0..5 {
        let _ = sign_in(&pool, &format!("nobody{i}@example.ru"), "x", "10.9.9.9").await;
    }
    let r = sign_in(&pool, "admin@mak.test", "admin-password", "10.9.9.9").await;
    assert!(matches!(r, Err(AccountsError::Throttled { .. })));
    done(
        sign_in(&pool, "admin@mak.test", "admin-password", "10.9.9.8")
            .await
            .unwrap(),
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_blocked_user_can_not_sign_in_and_their_sessions_end(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let grant = done(
        sign_in(&pool, "p@example.ru", "partner-password", "10.0.0.5")
            .await
            .unwrap(),
    );
    accounts::block_user(&pool, &admin, partner.user_id).await.unwrap();
    assert!(accounts::load_actor(&pool, grant.user_id, grant.epoch, None)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        sign_in(&pool, "p@example.ru", "partner-password", "10.0.0.5").await,
        Err(AccountsError::Blocked)
    ));
    assert!(matches!(
        accounts::block_user(&pool, &admin, admin.user_id).await,
        Err(AccountsError::SelfBlock)
    ));
    accounts::unblock_user(&pool, &admin, partner.user_id).await.unwrap();
    done(
        sign_in(&pool, "p@example.ru", "partner-password", "10.0.0.5")
            .await
            .unwrap(),
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn signing_out_everywhere_ends_older_sessions(pool: PgPool) {
    let admin = admin(&pool).await;
    let old = done(
        sign_in(&pool, "admin@mak.test", "admin-password", "10.0.0.5")
            .await
            .unwrap(),
    );
    let token = accounts::issue_token(&pool, &admin, admin.user_id, "скрипт", None)
        .await
        .unwrap();
    let new_epoch = accounts::sign_out_everywhere(&pool, &admin).await.unwrap();
    assert!(
        accounts::actor_for_token(&pool, &token.secret, None)
            .await
            .unwrap()
            .is_none(),
        "API tokens end with the sessions"
    );
    assert!(accounts::load_actor(&pool, old.user_id, old.epoch, None)
        .await
        .unwrap()
        .is_none());
    assert!(accounts::load_actor(&pool, old.user_id, new_epoch, None)
        .await
        .unwrap()
        .is_some());
}

#[sqlx::test(migrations = "../migrations")]
async fn totp_enrolment_requires_a_second_factor_and_recovery_codes_work_once(pool: PgPool) {
    let services = services(&pool);
    let admin = admin(&pool).await;
    let e = accounts::begin_totp_enrolment(&services, &admin).await.unwrap();
    assert!(e.qr_svg.contains("<svg"));
    let secret = totp_rs::Secret::Encoded(e.secret_base32.clone()).to_bytes().unwrap();
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret, None, String::new()).unwrap();
    assert!(
        accounts::confirm_totp_enrolment(&services, &admin, "000000")
            .await
            .is_err()
            || totp.generate_current().unwrap() == "000000"
    );
    let codes = accounts::confirm_totp_enrolment(&services, &admin, &totp.generate_current().unwrap())
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    let stored: Vec<u8> = sqlx::query_scalar("select totp_secret_enc from users where id = $1")
        .bind(admin.user_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains(&e.secret_base32),
        "the secret is encrypted at rest"
    );

    let SignIn::SecondFactor { user_id } = sign_in(&pool, "admin@mak.test", "admin-password", "10.0.0.7")
        .await
        .unwrap()
    else {
        panic!("2FA must be asked for");
    };
    assert!(matches!(
        accounts::verify_second_factor(&services, user_id, "123", None).await,
        Err(AccountsError::InvalidCode)
    ));
    let current = totp.generate_current().unwrap();
    accounts::verify_second_factor(&services, user_id, &current, None)
        .await
        .unwrap();
    assert!(
        matches!(
            accounts::verify_second_factor(&services, user_id, &current, None).await,
            Err(AccountsError::InvalidCode)
        ),
        "a TOTP code signs in once"
    );
    accounts::verify_second_factor(&services, user_id, &codes[0], None)
        .await
        .unwrap();
    assert!(
        matches!(
            accounts::verify_second_factor(&services, user_id, &codes[0], None).await,
            Err(AccountsError::InvalidCode)
        ),
        "a recovery code works once"
    );
    accounts::verify_second_factor(&services, user_id, &codes[1].to_uppercase(), None)
        .await
        .unwrap();
}

#[sqlx::test(migrations = "../migrations")]
async fn requiring_2fa_for_a_role_restricts_users_until_they_enrol(pool: PgPool) {
    let admin = admin(&pool).await;
    let employee = user_with_role(&pool, &admin, "e@mak.test", Role::Employee).await;
    domain::rbac::set_require_2fa(&pool, &admin, Role::Employee, true)
        .await
        .unwrap();
    let employee = actor(&pool, employee.user_id).await;
    assert!(employee.must_enroll_2fa);
    let r = accounts::list_users(&pool, &employee, Default::default()).await;
    assert!(matches!(
        r,
        Err(AccountsError::Rbac(domain::rbac::RbacError::TwoFactorRequired))
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn an_invitation_works_once_and_expires(pool: PgPool) {
    let admin = admin(&pool).await;
    let link = accounts::invite(
        &pool,
        &admin,
        accounts::InviteInput {
            email: "new@mak.test".into(),
            role: Role::Employee,
        },
    )
    .await
    .unwrap();
    let token = link.path.trim_start_matches("/invite/").to_string();
    assert_eq!(accounts::invitation(&pool, &token).await.unwrap().email, "new@mak.test");
    let grant = accounts::accept_invitation(&pool, &token, "Новый Сотрудник", "new-password", None)
        .await
        .unwrap();
    assert_eq!(grant.role, Role::Employee);
    assert!(matches!(
        accounts::accept_invitation(&pool, &token, "Ещё раз", "new-password", None).await,
        Err(AccountsError::InvitationInvalid)
    ));
    let link2 = accounts::invite(
        &pool,
        &admin,
        accounts::InviteInput {
            email: "late@mak.test".into(),
            role: Role::Partner,
        },
    )
    .await
    .unwrap();
    sqlx::query("update invitations set expires_at = now() - interval '1 minute' where email = 'late@mak.test'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        accounts::accept_invitation(
            &pool,
            link2.path.trim_start_matches("/invite/"),
            "Поздно",
            "late-password",
            None
        )
        .await,
        Err(AccountsError::InvitationExpired)
    ));
    assert!(
        matches!(
            accounts::invite(
                &pool,
                &admin,
                accounts::InviteInput {
                    email: "new@mak.test".into(),
                    role: Role::Partner
                }
            )
            .await,
            Err(AccountsError::Validation(_))
        ),
        "an existing email can't be invited again"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn api_tokens_act_as_their_user_until_revoked(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let issued = accounts::issue_token(&pool, &admin, partner.user_id, "Интеграция", None)
        .await
        .unwrap();
    let stored: i64 = sqlx::query_scalar("select count(*) from api_tokens where token_hash = $1")
        .bind(&issued.secret)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "tokens are stored hashed");
    let a = accounts::actor_for_token(&pool, &issued.secret, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.user_id, partner.user_id);
    assert!(accounts::actor_for_token(&pool, "mak_wrong", None)
        .await
        .unwrap()
        .is_none());
    accounts::revoke_token(&pool, &admin, issued.token.id).await.unwrap();
    assert!(accounts::actor_for_token(&pool, &issued.secret, None)
        .await
        .unwrap()
        .is_none());
    let other = accounts::issue_token(&pool, &partner, admin.user_id, "чужой", None).await;
    assert!(matches!(
        other,
        Err(AccountsError::Rbac(domain::rbac::RbacError::NotAllowed))
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn oauth_identities_link_only_by_verified_email(pool: PgPool) {
    admin(&pool).await;
    let id = |sub: &str, email: &str, verified: bool| accounts::Identity {
        provider: "yandex".into(),
        subject: sub.into(),
        email: email.into(),
        email_verified: verified,
        ip: None,
    };
    assert!(matches!(
        accounts::sign_in_with_identity(&pool, id("1", "admin@mak.test", false)).await,
        Err(AccountsError::EmailNotVerified)
    ));
    assert!(matches!(
        accounts::sign_in_with_identity(&pool, id("2", "stranger@mak.test", true)).await,
        Err(AccountsError::NoAccountForIdentity)
    ));
    done(
        accounts::sign_in_with_identity(&pool, id("3", "ADMIN@mak.test", true))
            .await
            .unwrap(),
    );
    // Once linked, the identity signs in even if the provider stops vouching.
    done(
        accounts::sign_in_with_identity(&pool, id("3", "renamed@elsewhere.ru", false))
            .await
            .unwrap(),
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn profile_and_password_changes_are_validated(pool: PgPool) {
    let admin = admin(&pool).await;
    let r = accounts::update_profile(
        &pool,
        &admin,
        accounts::ProfileInput {
            full_name: "".into(),
            phone: "12".into(),
            city: "".into(),
            lang: "en".into(),
        },
    )
    .await;
    let Err(AccountsError::Validation(f)) = r else {
        panic!("expected validation")
    };
    assert_eq!(f.len(), 2);
    let u = accounts::update_profile(
        &pool,
        &admin,
        accounts::ProfileInput {
            full_name: "Пётр".into(),
            phone: "+7 912 000 11 22".into(),
            city: "Пермь".into(),
            lang: "en".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(u.phone.as_deref(), Some("+79120001122"));
    assert_eq!(u.lang, "en");
    assert!(matches!(
        accounts::change_password(&pool, &admin, "bad", "new-password-1").await,
        Err(AccountsError::Validation(_))
    ));
    accounts::change_password(&pool, &admin, "admin-password", "new-password-1")
        .await
        .unwrap();
    done(
        sign_in(&pool, "admin@mak.test", "new-password-1", "10.0.0.9")
            .await
            .unwrap(),
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn sent_invitations_are_listed_and_a_revoked_link_no_longer_opens(pool: PgPool) {
    use accounts::InvitationState;
    let admin = admin(&pool).await;
    let invite = |email: &str, role| {
        accounts::invite(
            &pool,
            &admin,
            accounts::InviteInput {
                email: email.into(),
                role,
            },
        )
    };
    let kept = invite("kept@mak.test", Role::Partner).await.unwrap();
    let revoked = invite("revoked@mak.test", Role::Employee).await.unwrap();
    let list = accounts::list_invitations(&pool, &admin, 50).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|i| i.state == InvitationState::Pending));
    let id = list.iter().find(|i| i.email == "revoked@mak.test").unwrap().id;

    // A partner may neither list nor revoke invitations.
    let partner = user_with_role(&pool, &admin, "p@mak.test", Role::Partner).await;
    assert!(accounts::list_invitations(&pool, &partner, 50).await.is_err());
    assert!(accounts::revoke_invitation(&pool, &partner, id).await.is_err());

    accounts::revoke_invitation(&pool, &admin, id).await.unwrap();
    accounts::revoke_invitation(&pool, &admin, id).await.unwrap(); // twice is fine
    let token = revoked.path.trim_start_matches("/invite/");
    assert!(matches!(
        accounts::invitation(&pool, token).await,
        Err(AccountsError::InvitationInvalid)
    ));
    assert!(matches!(
        accounts::accept_invitation(&pool, token, "Отозванный", "new-password", None).await,
        Err(AccountsError::InvitationInvalid)
    ));
    let kept_token = kept.path.trim_start_matches("/invite/");
    accounts::accept_invitation(&pool, kept_token, "Принявший", "new-password", None)
        .await
        .unwrap();
    let list = accounts::list_invitations(&pool, &admin, 50).await.unwrap();
    let state = |e: &str| list.iter().find(|i| i.email == e).unwrap().state;
    assert_eq!(state("revoked@mak.test"), InvitationState::Revoked);
    assert_eq!(state("kept@mak.test"), InvitationState::Accepted);
    let accepted = list.iter().find(|i| i.email == "kept@mak.test").unwrap().id;
    assert!(matches!(
        accounts::revoke_invitation(&pool, &admin, accepted).await,
        Err(AccountsError::InvitationAccepted)
    ));
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where entity = 'invitation' and action = 'revoke'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
}

/// Tokens are remembered for a few seconds, so a change made behind the
/// app's back (an operator's SQL, another instance) must still end a token
/// at once: the database announces it and every instance forgets.
#[sqlx::test(migrations = "../migrations")]
async fn a_token_blocked_or_revoked_behind_the_apps_back_stops_at_once(pool: PgPool) {
    let admin = admin(&pool).await;
    let partner = user_with_role(&pool, &admin, "p@example.ru", Role::Partner).await;
    let _hub = domain::realtime::Hub::start(pool.clone());
    tokio::time::sleep(std::time::Duration::from_millis(500)).await; // the listener connects
    let first = accounts::issue_token(&pool, &admin, partner.user_id, "раз", None)
        .await
        .unwrap();
    let second = accounts::issue_token(&pool, &admin, admin.user_id, "два", None)
        .await
        .unwrap();

    async fn refused_soon(pool: &PgPool, secret: &str) -> bool {
        for _ in 0..30 {
            if accounts::actor_for_token(pool, secret, None).await.unwrap().is_none() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        false
    }

    for secret in [&first.secret, &second.secret] {
        assert!(accounts::actor_for_token(&pool, secret, None).await.unwrap().is_some());
    }
    sqlx::query("update users set blocked_at = now() where id = $1")
        .bind(partner.user_id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        refused_soon(&pool, &first.secret).await,
        "a blocked user's token ends within 3 s"
    );
    assert!(accounts::actor_for_token(&pool, &second.secret, None)
        .await
        .unwrap()
        .is_some());
    sqlx::query("update api_tokens set revoked_at = now() where id = $1")
        .bind(second.token.id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        refused_soon(&pool, &second.secret).await,
        "a revoked token ends within 3 s"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_invited_or_re_roled_partner_gets_a_referral_code(pool: PgPool) {
    let admin = admin(&pool).await;
    let link = accounts::invite(
        &pool,
        &admin,
        accounts::InviteInput {
            email: "invited@example.ru".into(),
            role: Role::Partner,
        },
    )
    .await
    .unwrap();
    let token = link.path.trim_start_matches("/invite/");
    let grant = accounts::accept_invitation(&pool, token, "Приглашённый Партнёр", "partner-password", None)
        .await
        .unwrap();
    let staff = user_with_role(&pool, &admin, "staff@example.ru", Role::Employee).await;
    accounts::change_role(&pool, &admin, staff.user_id, Role::Partner)
        .await
        .unwrap();
    for id in [grant.user_id, staff.user_id] {
        let code: Option<String> = sqlx::query_scalar("select referral_code from users where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(code.map(|c| c.len()), Some(8));
    }
}
