/*
 * registryd's metric families (see regmetrics.h). The router and the
 * upload handlers add to them; lib/metrics.c renders them.
 */
#include "regmetrics.h"

struct metric regm_uploads_in_progress = {
	.name = "uploads_in_progress",
	.help = "upload requests (PATCH, PUT, monolithic POST) streaming "
		"into storage on this node",
	.kind = METRIC_GAUGE,
};

struct metric regm_storage_written = {
	.name = "storage_written_bytes_total",
	.help = "upload bytes written to blob storage",
	.kind = METRIC_COUNTER,
};

struct metric regm_storage_read = {
	.name = "storage_read_bytes_total",
	.help = "blob bytes served from storage to clients that read the "
		"whole answer",
	.kind = METRIC_COUNTER,
};

struct metric regm_uploads_completed = {
	.name = "uploads_completed_total",
	.help = "uploads that became a blob on this node (final PUT or "
		"monolithic POST)",
	.kind = METRIC_COUNTER,
};

void
regmetrics_register(void)
{
	/* Registration prepends: the last one registered renders first. */
	metrics_register(&regm_uploads_completed);
	metrics_register(&regm_storage_read);
	metrics_register(&regm_storage_written);
	metrics_register(&regm_uploads_in_progress);
}
