/**
 * A Logger whose destination can be replaced while everything keeps the
 * logger it was given: how a reload (SIGHUP) applies new `Log` lines to a
 * running process. Children made before the switch follow it: each child
 * keeps its bindings and makes its child of the new target lazily, once.
 */
import type { Logger } from '@relayd/common';

interface Target {
  logger: Logger;
  generation: number;
}

export class RetargetableLogger implements Logger {
  private cached: Logger | undefined;
  private cachedGeneration = -1;

  private constructor(
    private readonly target: Target,
    /** Bindings from the root down, applied as one child of the current target. */
    private readonly bindings: object | undefined,
  ) {}

  /** A logger writing to `logger` until `retarget` is called. */
  static create(logger: Logger): RetargetableLogger {
    return new RetargetableLogger({ logger, generation: 0 }, undefined);
  }

  /** From now on this logger and all its children write to `logger`. */
  retarget(logger: Logger): void {
    this.target.logger = logger;
    this.target.generation++;
  }

  /** The logger currently written to (to close it after a switch). */
  get current(): Logger {
    return this.target.logger;
  }

  error(fields: object, message: string): void {
    this.resolve().error(fields, message);
  }
  warn(fields: object, message: string): void {
    this.resolve().warn(fields, message);
  }
  notice(fields: object, message: string): void {
    this.resolve().notice(fields, message);
  }
  info(fields: object, message: string): void {
    this.resolve().info(fields, message);
  }
  debug(fields: object, message: string): void {
    this.resolve().debug(fields, message);
  }

  child(bindings: object): Logger {
    return new RetargetableLogger(this.target, { ...this.bindings, ...bindings });
  }

  private resolve(): Logger {
    if (this.cachedGeneration !== this.target.generation || this.cached === undefined) {
      this.cached = this.bindings ? this.target.logger.child(this.bindings) : this.target.logger;
      this.cachedGeneration = this.target.generation;
    }
    return this.cached;
  }
}
