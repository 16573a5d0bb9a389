import { defineConfig } from 'vitest/config';

// Two projects: `unit` (test/) runs Warren in-process only; `compat` (compat/) runs the same
// client scenarios against a real RabbitMQ and against Warren and compares them.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          // A test that asserts nothing proves nothing: each must make at least one assertion.
          expect: { requireAssertions: true },
          // Brokers the tests start as processes run side by side and must not take the machine's
          // 1883, 15675, 15672 or 15692: MQTT and the HTTP listeners are off unless a test asks for them.
          env: { WARREN_MQTT_PORT: '0', WARREN_MQTT_WS_PORT: '0', WARREN_MANAGEMENT_PORT: '0', WARREN_PROMETHEUS_PORT: '0' },
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'compat',
          include: ['compat/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // One reference RabbitMQ for the whole run (started here unless AMQP_REFERENCE_URL is set).
          globalSetup: ['compat/harness/global-setup.ts'],
          // Scenarios use unique names, so those of one file run side by side against both brokers.
          maxConcurrency: 12,
          env: { WARREN_MQTT_PORT: '0', WARREN_MQTT_WS_PORT: '0', WARREN_MANAGEMENT_PORT: '0', WARREN_PROMETHEUS_PORT: '0' },
        },
      },
    ],
  },
});
