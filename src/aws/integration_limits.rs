//! Each integration's timeout, read from API Gateway for the CLI's fetch mode: REST
//! `GetRestApi` (the endpoint type: edge-optimized APIs stay at 29 s) and `GetResources`
//! with `embed=methods` (every method's integration `timeoutInMillis`); HTTP and WebSocket
//! APIs through apigatewayv2 `GetApi`, `GetStage` (the access-log group), `GetRoutes` and
//! `GetIntegrations` (a route's `Target` is `integrations/ID`). The SDK's types stay
//! here: what leaves is plain data ([`ApiLimits`]) and warning lines. Every listing is
//! paginated and bounded; a failed call leaves the defaults, with a warning, never an error.

use std::collections::HashMap;

use aws_sdk_apigateway::error::DisplayErrorContext;

use crate::model::limits::{ApiLimits, Endpoint, IntegrationLimit};

/// Pages read at most per listing; past them the rest keeps the defaults, with a warning.
const MAX_PAGES: usize = 20;
/// Resources per GetResources page (API Gateway's largest).
const REST_PAGE: i32 = 500;

/// `GET` and `/orders/{id}` → `GET /orders/{id}`, as the engine writes a REST route.
pub fn rest_route(method: &str, path: &str) -> String {
    format!("{} {}", method.trim(), path.trim())
}

/// `integrations/abc123` (a route's `Target`) → `abc123`.
pub fn integration_id(target: &str) -> Option<&str> {
    let id = target.trim().strip_prefix("integrations/")?;
    (!id.is_empty()).then_some(id)
}

/// The SDK's `timeoutInMillis` (0 or below when API Gateway gave none) as a value.
pub fn ms_of(ms: i32) -> Option<u64> {
    u64::try_from(ms).ok().filter(|ms| *ms > 0)
}

/// Each route's integration limit: routes whose target is no integration, or an
/// integration not listed, are left out (their default holds).
pub fn join_routes(
    routes: &[(String, Option<String>)],
    integrations: &HashMap<String, Option<u64>>,
) -> Vec<IntegrationLimit> {
    routes
        .iter()
        .filter_map(|(key, target)| {
            let id = integration_id(target.as_deref()?)?;
            Some(IntegrationLimit {
                route: key.clone(),
                ms: *integrations.get(id)?,
                streaming: false,
            })
        })
        .collect()
}

/// The endpoint of a REST API from its `endpointConfiguration.types`.
fn rest_endpoint(types: &[aws_sdk_apigateway::types::EndpointType]) -> Endpoint {
    use aws_sdk_apigateway::types::EndpointType as T;
    if types.contains(&T::Edge) {
        Endpoint::Edge
    } else if types.contains(&T::Private) {
        Endpoint::Private
    } else if types.contains(&T::Regional) {
        Endpoint::Regional
    } else {
        Endpoint::Rest
    }
}

/// A REST API's limits for `stage`: GetRestApi, then GetResources with embed=methods.
pub async fn rest(
    client: &aws_sdk_apigateway::Client,
    api_id: &str,
    stage: &str,
) -> (Option<ApiLimits>, Vec<String>) {
    let mut warnings = Vec::new();
    let endpoint = match client.get_rest_api().rest_api_id(api_id).send().await {
        Ok(out) => rest_endpoint(out.endpoint_configuration().map_or(&[], |c| c.types())),
        Err(e) => {
            warnings.push(format!(
                "GetRestApi {api_id}: {}; its endpoint type is unknown, so no 29 s cap for edge-optimized APIs is applied",
                DisplayErrorContext(&e)
            ));
            Endpoint::Rest
        }
    };
    match rest_integrations(client, api_id, &mut warnings).await {
        Ok(integrations) => {
            let limits = ApiLimits {
                api_id: api_id.to_owned(),
                stage: stage.to_owned(),
                endpoint,
                integrations,
            };
            (Some(limits), warnings)
        }
        Err(detail) => {
            warnings.push(defaults_warning("GetResources", api_id, stage, &detail));
            (None, warnings)
        }
    }
}

/// Every method's integration timeout, page by page (bounded).
async fn rest_integrations(
    client: &aws_sdk_apigateway::Client,
    api_id: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<IntegrationLimit>, String> {
    let mut out = Vec::new();
    let mut position: Option<String> = None;
    for page in 0.. {
        if page == MAX_PAGES {
            warnings.push(format!(
                "GetResources {api_id}: more than {} resources; the rest keep the default limit",
                MAX_PAGES * REST_PAGE as usize
            ));
            break;
        }
        let res = client
            .get_resources()
            .rest_api_id(api_id)
            .embed("methods")
            .limit(REST_PAGE)
            .set_position(position.clone())
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        for r in res.items() {
            let path = r.path().unwrap_or_default();
            for (method, m) in r.resource_methods().into_iter().flatten() {
                if let Some(i) = m.method_integration() {
                    out.push(IntegrationLimit {
                        route: rest_route(method, path),
                        ms: ms_of(i.timeout_in_millis()),
                        streaming: i.response_transfer_mode()
                            == Some(&aws_sdk_apigateway::types::ResponseTransferMode::Stream),
                    });
                }
            }
        }
        match res.position() {
            Some(p) if !p.is_empty() && position.as_deref() != Some(p) => {
                position = Some(p.to_owned());
            }
            _ => break,
        }
    }
    Ok(out)
}

/// What apigatewayv2 says of an HTTP or WebSocket API's stage.
pub struct V2Stage {
    pub endpoint: Endpoint,
    /// Where access logs go (a log group's or a Firehose stream's ARN), when logged.
    pub access_destination: Option<String>,
}

/// apigatewayv2 GetStage (the access-log group) and GetApi (HTTP or WebSocket); `Err`
/// with the SDK's whole context when the stage cannot be read.
pub async fn v2_stage(
    client: &aws_sdk_apigatewayv2::Client,
    api_id: &str,
    stage: &str,
    warnings: &mut Vec<String>,
) -> Result<V2Stage, String> {
    let out = client
        .get_stage()
        .api_id(api_id)
        .stage_name(stage)
        .send()
        .await
        .map_err(|e| DisplayErrorContext(&e).to_string())?;
    let access_destination = out
        .access_log_settings()
        .and_then(|s| s.destination_arn())
        .map(str::to_owned);
    let endpoint = match client.get_api().api_id(api_id).send().await {
        Ok(api) => match api.protocol_type() {
            Some(aws_sdk_apigatewayv2::types::ProtocolType::Websocket) => Endpoint::WebSocket,
            _ => Endpoint::Http,
        },
        Err(e) => {
            warnings.push(format!(
                "GetApi {api_id}: {}; taken for an HTTP API",
                DisplayErrorContext(&e)
            ));
            Endpoint::Http
        }
    };
    Ok(V2Stage {
        endpoint,
        access_destination,
    })
}

/// An HTTP or WebSocket API's limits: GetRoutes and GetIntegrations, joined by target.
pub async fn v2_limits(
    client: &aws_sdk_apigatewayv2::Client,
    api_id: &str,
    stage: &str,
    endpoint: Endpoint,
) -> (Option<ApiLimits>, Vec<String>) {
    let lists = async {
        let routes = v2_routes(client, api_id).await?;
        let integrations = v2_integrations(client, api_id).await?;
        Ok::<_, String>(join_routes(&routes, &integrations))
    };
    match lists.await {
        Ok(integrations) => {
            let limits = ApiLimits {
                api_id: api_id.to_owned(),
                stage: stage.to_owned(),
                endpoint,
                integrations,
            };
            (Some(limits), Vec::new())
        }
        Err(detail) => (
            None,
            vec![defaults_warning(
                "GetRoutes/GetIntegrations",
                api_id,
                stage,
                &detail,
            )],
        ),
    }
}

/// Every route's key and target, page by page (bounded).
async fn v2_routes(
    client: &aws_sdk_apigatewayv2::Client,
    api_id: &str,
) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let res = client
            .get_routes()
            .api_id(api_id)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        out.extend(
            res.items()
                .iter()
                .filter_map(|r| Some((r.route_key()?.to_owned(), r.target().map(str::to_owned)))),
        );
        match next(res.next_token(), &token) {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(out)
}

/// Every integration's id and timeout, page by page (bounded).
async fn v2_integrations(
    client: &aws_sdk_apigatewayv2::Client,
    api_id: &str,
) -> Result<HashMap<String, Option<u64>>, String> {
    let mut out = HashMap::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let res = client
            .get_integrations()
            .api_id(api_id)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        for i in res.items() {
            if let Some(id) = i.integration_id() {
                out.insert(id.to_owned(), i.timeout_in_millis().and_then(ms_of));
            }
        }
        match next(res.next_token(), &token) {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    Ok(out)
}

/// The next page's token: none on the last page, and none when it repeats (a loop).
fn next(given: Option<&str>, last: &Option<String>) -> Option<String> {
    given
        .filter(|t| !t.is_empty() && last.as_deref() != Some(*t))
        .map(str::to_owned)
}

/// The warning line of a lookup that failed: the defaults hold.
fn defaults_warning(call: &str, api_id: &str, stage: &str, detail: &str) -> String {
    format!(
        "{call} {api_id}: {detail}; the integrations' own limits are not known, so {api_id}/{stage} is held against the defaults (or --timeout-ms, --timeout-overrides)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_targets() {
        assert_eq!(rest_route("GET", "/orders/{id}"), "GET /orders/{id}");
        assert_eq!(integration_id("integrations/ab12"), Some("ab12"));
        assert_eq!(integration_id("integrations/"), None);
        assert_eq!(integration_id("arn:aws:lambda:x"), None);
        assert_eq!(ms_of(60_000), Some(60_000));
        assert_eq!(ms_of(0), None);
        assert_eq!(ms_of(-1), None);
    }

    #[test]
    fn routes_join_their_integrations() {
        let routes = vec![
            ("GET /a".to_owned(), Some("integrations/i1".to_owned())),
            ("GET /b".to_owned(), Some("integrations/gone".to_owned())),
            ("GET /c".to_owned(), None),
            ("$default".to_owned(), Some("integrations/i2".to_owned())),
        ];
        let integrations =
            HashMap::from([("i1".to_owned(), Some(12_000)), ("i2".to_owned(), None)]);
        assert_eq!(
            join_routes(&routes, &integrations),
            vec![
                IntegrationLimit {
                    route: "GET /a".into(),
                    ms: Some(12_000),
                    streaming: false,
                },
                IntegrationLimit {
                    route: "$default".into(),
                    ms: None,
                    streaming: false,
                },
            ]
        );
    }

    #[test]
    fn endpoint_types() {
        use aws_sdk_apigateway::types::EndpointType as T;
        assert_eq!(rest_endpoint(&[T::Edge]), Endpoint::Edge);
        assert_eq!(rest_endpoint(&[T::Regional]), Endpoint::Regional);
        assert_eq!(rest_endpoint(&[T::Private]), Endpoint::Private);
        assert_eq!(rest_endpoint(&[]), Endpoint::Rest);
        assert_eq!(next(Some("t"), &Some("t".into())), None);
        assert_eq!(next(Some(""), &None), None);
        assert_eq!(next(Some("u"), &Some("t".into())), Some("u".into()));
    }
}
