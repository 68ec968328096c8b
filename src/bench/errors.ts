import { HandoffError } from '../protocol/index.ts';

/** Every --target connection failed: nothing listens there, or nothing we can reach. */
export class TargetUnreachableError extends HandoffError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_TARGET_UNREACHABLE', message, options);
    this.name = 'TargetUnreachableError';
  }
}

/** The embedded server did not start, or stopped answering its control signals. */
export class EmbeddedServerError extends HandoffError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_EMBEDDED_SERVER', message, options);
    this.name = 'EmbeddedServerError';
  }
}

/** The open-file limit is below what the requested connections need. */
export class FileLimitError extends HandoffError {
  constructor(message: string) {
    super('ERR_FILE_LIMIT', message);
    this.name = 'FileLimitError';
  }
}

/** A results file that compare cannot read. */
export class ResultsFileError extends HandoffError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_RESULTS_FILE', message, options);
    this.name = 'ResultsFileError';
  }
}
