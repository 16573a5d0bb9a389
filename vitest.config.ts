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
          // Brokers started through the command line (whose MQTT listener defaults to 1883) run side
          // by side: without MQTT unless a test asks for it.
          env: { WARREN_MQTT_PORT: '0' },
          // A test that asserts nothing proves nothing: each must make at least one assertion.
          expect: { requireAssertions: true },
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'compat',
          include: ['compat/**/*.test.ts'],
          env: { WARREN_MQTT_PORT: '0' },
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // One reference RabbitMQ for the whole run (started here unless AMQP_REFERENCE_URL is set).
          globalSetup: ['compat/harness/global-setup.ts'],
          // Scenarios use unique names, so those of one file run side by side against both brokers.
          maxConcurrency: 12,
        },
      },
    ],
  },
});
