/** Small parsers for command-line values, each failing with the option's name. */
import { UsageError } from './usageError.ts';

export function intOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

export function intList(name: string, values: string[] | undefined, min: number, max: number): number[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => intOption(name, v, min, max)!);
}

export function choice<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  }
  return value as T;
}
