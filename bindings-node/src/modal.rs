//! The export modal's and the history page's operations on `ExportClient`:
//! the conversations page, the counts per scope, the preview, retry, the
//! download check that `HEAD` answers, and the audit trail as CSV.

use lora_export::pg::{
    AuditScope, ConversationPage, CreateOutcome, Download, ExportPreview, ScopeCounts,
};
use lora_export::ErrorKind;
use napi::bindgen_prelude::{AsyncBlock, Either, Object, ToNapiValue, Unknown};
use napi::{sys, Env};
use napi_derive::napi;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{
    download_object, export_of, options_of, plain_value, user_of, ExportClient, User,
};
use crate::reply::{spawn, Failure, IntoJs, Json, Reply};

/// Options of `auditTrailCsv`; an unknown key is a `CONFIG_ERROR`.
#[napi(object)]
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuditTrailOptions {
    /// Every user's events instead of the user's own: an administrator's
    /// session only (`app_metadata.role` is `admin`), else 403 `ADMIN_REQUIRED`.
    pub all_users: Option<bool>,
}

#[napi]
impl ExportClient {
    /// A page of the conversations `user` can read, newest first: `body` is
    /// `{ filters?, page?, limit? }` (filters as an export request's; limit
    /// 1–100, default 25). Rejects 400 with `issues` at their paths.
    #[napi(
        ts_args_type = "user: Session | string, body?: ConversationQuery",
        ts_return_type = "Promise<ConversationPage>"
    )]
    pub fn list_conversations<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        body: Option<Unknown<'env>>,
    ) -> napi::Result<AsyncBlock<Reply<Json<ConversationPage>>>> {
        let (service, user, body) = (self.service.clone(), user_of(&user), body_of(body));
        spawn(env, async move { Ok(Json(service.list_conversations(user?, &body?).await?)) })
    }

    /// How many conversations each scope would export for `body`
    /// (`{ conversationIds?, filters? }`), counted by the export's own SQL:
    /// `{ selected, filtered, all, all_data }`. Rejects 400 with `issues`.
    #[napi(
        ts_args_type = "user: Session | string, body?: ScopeSelection",
        ts_return_type = "Promise<ScopeCounts>"
    )]
    pub fn count_scopes<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        body: Option<Unknown<'env>>,
    ) -> napi::Result<AsyncBlock<Reply<Json<ScopeCounts>>>> {
        let (service, user, body) = (self.service.clone(), user_of(&user), body_of(body));
        spawn(env, async move { Ok(Json(service.count_scopes(user?, &body?).await?)) })
    }

    /// The first `n` (1–10, default 3) conversations the export request
    /// `body` selects, rendered exactly as the export writes them:
    /// `{ format, preview, count }`. Logs nothing. Rejects 400 with `issues`.
    #[napi(
        ts_args_type = "user: Session | string, body: unknown, n?: number",
        ts_return_type = "Promise<ExportPreview>"
    )]
    pub fn preview_export<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        body: Unknown<'env>,
        n: Option<u32>,
    ) -> napi::Result<AsyncBlock<Reply<Json<ExportPreview>>>> {
        let (service, user, body) = (self.service.clone(), user_of(&user), body_of(Some(body)));
        let n = n.unwrap_or(3);
        spawn(env, async move { Ok(Json(service.preview_export(user?, &body?, n).await?)) })
    }

    /// A new export from `user`'s failed or expired export's stored request,
    /// answered like `createExport` (and rate-limited like it). Rejects 409
    /// `NOT_RETRYABLE` for one that is queued, processing or completed.
    #[napi(
        ts_args_type = "user: Session | string, exportId: string",
        ts_return_type = "Promise<CreateExportResult>"
    )]
    pub fn retry_export<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        export_id: String,
    ) -> napi::Result<AsyncBlock<Reply<Json<CreateOutcome>>>> {
        let (service, user) = (self.service.clone(), user_of(&user));
        spawn(env, async move {
            let (user, export) = (user?, export_of(&export_id)?);
            Ok(Json(service.retry_export(user, export).await?))
        })
    }

    /// What `openDownload` would answer — the same checks and rejections,
    /// the same headers' values — without counting a download or opening a
    /// stream: the answer to `HEAD` (of one `file` of a dataset export
    /// when given).
    #[napi(
        ts_args_type = "user: Session | string, exportId: string, file?: string",
        ts_return_type = "Promise<DownloadInfo>"
    )]
    pub fn inspect_download<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        export_id: String,
        file: Option<String>,
    ) -> napi::Result<AsyncBlock<Reply<Inspected>>> {
        let (service, user) = (self.service.clone(), user_of(&user));
        spawn(env, async move {
            let (user, export) = (user?, export_of(&export_id)?);
            let download = match file {
                Some(name) => service.inspect_file(user, export, &name).await?,
                None => service.inspect_download(user, export).await?,
            };
            Ok(Inspected(download))
        })
    }

    /// The audit trail as CSV text (header `created_at,export_id,user_id,
    /// seq,event,detail,prev_hash,hash`, oldest first): the user's own, or
    /// with `{ allUsers: true }` every user's, for an administrator's session.
    #[napi(
        ts_args_type = "user: Session | string, options?: AuditTrailOptions",
        ts_return_type = "Promise<string>"
    )]
    pub fn audit_trail_csv<'env>(
        &self,
        env: &'env Env,
        user: User<'env>,
        options: Option<Unknown<'env>>,
    ) -> napi::Result<AsyncBlock<Reply<String>>> {
        let options = options_of::<AuditTrailOptions>("auditTrailCsv options", options);
        let service = self.service.clone();
        let session = match &user {
            Either::B(session) => Some(session.inner.clone()),
            Either::A(_) => None,
        };
        let user = user_of(&user);
        spawn(env, async move {
            let scope = match options?.all_users {
                Some(true) => AuditScope::AllUsers,
                _ => AuditScope::Own,
            };
            let csv = match session {
                Some(session) => service.audit_trail_csv(session, scope).await?,
                None => service.audit_trail_csv(user?, scope).await?,
            };
            String::from_utf8(csv)
                .map_err(|e| lora_export::Error::internal("CSV_ERROR", e.to_string()).into())
        })
    }
}

/// A request body as JSON: a 400 with one issue at its top-level key when
/// it is nested or sized past the core's limits (`too_deep`, `too_large`)
/// or JavaScript that JSON cannot hold (`invalid_body`: a function, a
/// BigInt, a non-finite number).
pub(crate) fn body_of(body: Option<Unknown<'_>>) -> Result<Value, Failure> {
    match body {
        None => Ok(Value::Null),
        Some(body) => plain_value(body, "invalid_body")
            .map_err(|issue| Failure::from(ErrorKind::InvalidRequest(vec![issue]))),
    }
}

/// A checked download, as `{ exportId, fileName, contentType,
/// contentDisposition, size, sha256 }` (no stream: the file is closed).
pub struct Inspected(Download);

impl IntoJs for Inspected {
    fn into_js(self, env: &Env) -> napi::Result<sys::napi_value> {
        let object = download_object(env, &self.0)?;
        // SAFETY: `env` is the live environment of the current call.
        unsafe { Object::to_napi_value(env.raw(), object) }
    }
}
