import { routes } from '@/lib/export'

// Prometheus metrics, for `Authorization: Bearer $LORA_EXPORT_METRICS_SECRET`.
export const { GET } = routes.metrics
