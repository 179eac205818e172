/**
 * The two job dialects' JSON as JSON Schemas: Metronome's job (`/v1/jobs`) and Chronos's
 * (`/v1/scheduler/iso8601`, `/dependency`), for what Agora reads of them. Unknown fields are
 * allowed and ignored, as both ignore them; a `null` means "not given". What a schema cannot
 * say (a cron string, a time zone, a schedule or parents but not both) is checked in job.ts.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { choice, JsonSchema, nullable } from '../../common/json-schema';
import { HostVolume } from '../shared/host-volume';

const { Optional } = Type;
const maybe = <T extends TSchema>(schema: T) => Optional(nullable(schema));
const atLeast = (minimum: number) => Optional(Type.Number({ minimum }));
const Strings = maybe(Type.Array(Type.String()));
const StringMap = maybe(Type.Record(Type.String(), Type.String()));
/** Host volumes; that they need a Docker image is checked in job.ts, at the volumes. */
const Volumes = maybe(Type.Array(HostVolume));

const DNS_PART = '[a-z0-9]([a-z0-9-]*[a-z0-9])?';

const MetronomeConstraint = Type.Object({
  attribute: Type.String(),
  operator: choice(['IS', 'LIKE', 'UNLIKE', 'EQ']),
  value: Optional(Type.String()),
}, { message: { type: 'expected {attribute, operator: IS|LIKE|UNLIKE, value}' } });

const MetronomeSchedule = Type.Object({
  id: maybe(Type.String({ pattern: `^${DNS_PART}$`, message: { pattern: '{value} is not a schedule id: lowercase letters, digits and \'-\'' } })),
  cron: Type.String({ minLength: 1, message: { required: 'a schedule needs a cron expression', minLength: 'a schedule needs a cron expression' } }),
  timezone: maybe(Type.String()),
  concurrencyPolicy: maybe(choice(['ALLOW', 'FORBID', 'REPLACE'])),
  startingDeadlineSeconds: atLeast(1),
  enabled: Optional(Type.Boolean()),
}, { message: { type: 'expected {cron, timezone, concurrencyPolicy, startingDeadlineSeconds, enabled}' } });

const RUN = 'a job needs run: {cmd, cpus, mem, …}';

const MetronomeRun = Type.Object({
  cmd: maybe(Type.String()),
  args: Strings,
  cpus: atLeast(0.01),
  mem: atLeast(32),
  disk: atLeast(0),
  gpus: atLeast(0),
  docker: Optional(Type.Object({ image: maybe(Type.String()), forcePullImage: Optional(Type.Boolean()) })),
  volumes: Volumes,
  env: StringMap,
  placement: Optional(Type.Object({ constraints: Optional(Type.Array(MetronomeConstraint)) })),
  user: Optional(Type.String()),
  restart: Optional(Type.Object({ policy: maybe(choice(['NEVER', 'ON_FAILURE'])), activeDeadlineSeconds: atLeast(1) })),
  maxLaunchDelay: atLeast(1),
}, { message: { type: RUN, required: RUN } });

/** A Metronome job, the fields in the order their problems are reported. */
export const METRONOME_JOB = new JsonSchema(Type.Object({
  id: Type.String({
    pattern: `^${DNS_PART}(\\.${DNS_PART})*$`,
    message: { pattern: '{value} is not a job id: dot-separated parts of lowercase letters, digits and \'-\'', required: 'a job needs an id: dot-separated parts of lowercase letters, digits and \'-\'' },
  }),
  description: maybe(Type.String()),
  labels: StringMap,
  run: MetronomeRun,
  schedules: Optional(Type.Array(MetronomeSchedule, { maxItems: 1, message: { maxItems: 'a job takes at most one schedule' } })),
  dependencies: Optional(Type.Array(Type.Object({ id: Type.String() }, { message: { type: 'expected {id}' } }))),
}, { message: { type: 'expected a JSON object' } }));

export type MetronomeJobJson = Static<typeof METRONOME_JOB.schema>;
export type MetronomeScheduleJson = Static<typeof MetronomeSchedule>;

const CHRONOS_CONSTRAINT = 'expected [attribute, EQUALS|LIKE|UNLIKE, value]';
const NAME = 'letters, digits, \'_\', \'.\' and \'-\'';

/** A Chronos job, the fields in the order their problems are reported. */
export const CHRONOS_JOB = new JsonSchema(Type.Object({
  name: Type.String({ pattern: '^[\\w.-]+$', message: { pattern: `{value} is not a job name: ${NAME}`, required: `a job needs a name: ${NAME}` } }),
  description: maybe(Type.String()),
  owner: Optional(Type.String()),
  command: maybe(Type.String()),
  shell: Optional(Type.Boolean()),
  arguments: Strings,
  schedule: maybe(Type.String()),
  scheduleTimeZone: maybe(Type.String()),
  parents: Strings,
  concurrent: Optional(Type.Boolean()),
  cpus: atLeast(0.01),
  mem: atLeast(1),
  disk: atLeast(0),
  retries: atLeast(0),
  maxCompletionTime: atLeast(1),
  environmentVariables: Optional(Type.Array(Type.Object({ name: Type.String(), value: Type.String() }, { message: { type: 'expected {name, value}' } }))),
  constraints: Optional(Type.Array(Type.Tuple([Type.String(), choice(['EQUALS', 'LIKE', 'UNLIKE']), Type.String()], {
    message: { type: CHRONOS_CONSTRAINT, minItems: CHRONOS_CONSTRAINT, maxItems: CHRONOS_CONSTRAINT, additionalItems: CHRONOS_CONSTRAINT },
  }))),
  container: Optional(Type.Object({ image: maybe(Type.String()), forcePullImage: Optional(Type.Boolean()), volumes: Volumes })),
  runAsUser: Optional(Type.String()),
  softError: Optional(Type.Boolean()),
  disabled: Optional(Type.Boolean()),
}, { message: { type: 'expected a JSON object' } }));

export type ChronosJobJson = Static<typeof CHRONOS_JOB.schema>;
