/**
 * How `warren ctl` fails, as rabbitmqctl does: RabbitMQ.CLI.Core.ExitCodes (the BSD sysexits
 * codes) and the text on stderr. Every failure is one of these; main.ts prints it and exits with
 * its code.
 */

/** rabbitmqctl's exit codes (deps/rabbitmq_cli/lib/rabbitmq/cli/core/exit_codes.ex, sysexits.h). */
export const EXIT = {
  ok: 0,
  /** A wrong command line: unknown command or option, too few or too many arguments. */
  usage: 64,
  /** Bad input data: a definitions file that does not exist or does not import, a bad argument. */
  dataError: 65,
  /** The user named does not exist (change_password, set_user_tags, set_permissions). */
  noUser: 67,
  /** The node cannot be reached, or refused the operation (RabbitMQ's catch-all for a failed command). */
  unavailable: 69,
  /** The operation failed in the broker (add_user for an existing user). */
  software: 70,
  /** A wait ran out (await_startup). */
  tempFail: 75,
} as const;

/** A command that failed: printed as RabbitMQ prints it ("Error:" and the message) with its exit code. */
export class CtlError extends Error {
  override name = 'CtlError';
  constructor(
    readonly exitCode: number,
    message: string,
    /** Printed as "Error: message" on one line (rabbitmqctl's unreachable-node text) rather than "Error:" above it. */
    readonly inline = false,
  ) {
    super(message);
  }
}

/**
 * A command line rabbitmqctl would refuse before running anything ("Error (argument validation)"),
 * printed with the arguments given and the command's usage; exit 64, or 65 for a bad argument.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}
