//! PutMetricData with Values/Counts, in as few calls as the limits allow.

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_smithy_types::DateTime;

use super::sdk_message;
use crate::monitor::outputs::{MetricsOut, OutputFuture, PublishError};
use crate::render::metrics::{self, Datum, MetricBatch, Unit};

fn datum(d: &Datum) -> MetricDatum {
    // An empty Dimensions list is left out rather than sent empty (LocalStack's CBOR
    // parser rejects the empty array; CloudWatch treats both the same).
    let dimensions = (!d.dimensions.is_empty()).then(|| {
        d.dimensions
            .iter()
            .map(|(k, v)| Dimension::builder().name(*k).value(v).build())
            .collect()
    });
    MetricDatum::builder()
        .metric_name(d.name)
        .unit(match d.unit {
            Unit::Count => StandardUnit::Count,
            Unit::Milliseconds => StandardUnit::Milliseconds,
        })
        .timestamp(DateTime::from_millis(d.timestamp_ms))
        .set_dimensions(dimensions)
        .set_values(Some(d.values.clone()))
        .set_counts(Some(d.counts.clone()))
        .build()
}

/// Sends the batch; returns the number of calls made.
pub async fn put(
    client: &aws_sdk_cloudwatch::Client,
    batch: &MetricBatch,
) -> Result<usize, PublishError> {
    let calls = metrics::pack(&batch.data);
    let n = calls.len();
    for (i, call) in calls.into_iter().enumerate() {
        client
            .put_metric_data()
            .namespace(&batch.namespace)
            .set_metric_data(Some(call.iter().map(datum).collect()))
            .send()
            .await
            .map_err(|e| PublishError::Metrics {
                call: i + 1,
                calls: n,
                message: sdk_message(&e),
            })?;
    }
    Ok(n)
}

/// The metrics port through PutMetricData (`METRICS_MODE=api`; `emf` prints lines).
pub struct CloudWatchMetrics {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchMetrics {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> CloudWatchMetrics {
        CloudWatchMetrics { client }
    }
}

impl MetricsOut for CloudWatchMetrics {
    fn put<'a>(&'a self, batch: &'a MetricBatch) -> OutputFuture<'a, usize> {
        Box::pin(put(&self.client, batch))
    }
}
