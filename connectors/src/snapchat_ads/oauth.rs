//! Snapchat's OAuth is plain OAuth 2, all from the shared helper: the code exchange and the
//! refresh grant are form posts to `token_url`. Access tokens live 30 minutes; the refresh token
//! is reusable, but a new one is stored when the endpoint returns one. Snapchat documents no
//! revocation endpoint (`revoke_url` is empty).

use super::SnapchatAds;
use crate::oauth::OAuth;

impl OAuth for SnapchatAds {}
