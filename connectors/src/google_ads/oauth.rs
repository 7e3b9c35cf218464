//! Google's OAuth is plain OAuth 2 (form posts for the code exchange, the refresh grant and
//! revocation, all from the shared helper); the authorisation page must ask for offline access
//! with consent, or Google issues no refresh token. Google returns no new refresh token on
//! refresh; `invalid_grant` means the grant is dead (revoked, expired, or unused for months).

use super::GoogleAds;
use crate::oauth::OAuth;

impl OAuth for GoogleAds {
    fn extra_params(&self) -> &'static [(&'static str, &'static str)] {
        // A refresh token is only issued for offline access, and again only with consent.
        &[("access_type", "offline"), ("prompt", "consent")]
    }
}
