/**
 * Marathon's app and group JSON as JSON Schemas (R/v2/types/app.raml, group.raml), for what
 * Agora reads of them: each field's type, range and choices, and the Marathon features Agora
 * refuses by name. Unknown fields are allowed and ignored, as Marathon ignores them. A `null`
 * where Marathon's clients send one means "not given". What a schema cannot say (id paths,
 * constraint operators and their values, port indexes) is checked in app.ts after it.
 */
import { Type, type SchemaOptions, type Static, type TSchema } from '@sinclair/typebox';
import { choice, JsonSchema, nullable, refused } from '../../common/json-schema';
import { HostVolume } from '../shared/host-volume';

const { Optional } = Type;
const maybe = <T extends TSchema>(schema: T, options?: SchemaOptions) => Optional(nullable(schema, options));
const atLeast = (minimum: number) => Optional(Type.Number({ minimum }));

const Port = Type.Integer({ minimum: 0, maximum: 65535, message: 'expected a port number 0-65535, got {value}' });
const Protocol = choice(['tcp', 'udp']);

const PortMapping = Type.Object({
  containerPort: Optional(Port), hostPort: Optional(Port), servicePort: Optional(Port), protocol: Optional(Protocol), name: Optional(Type.String()),
}, { message: { type: 'expected an object {containerPort, hostPort, protocol, name}' } });

const PortDefinition = Type.Object({ port: Optional(Port), protocol: Optional(Protocol), name: Optional(Type.String()) },
  { message: { type: 'expected an object {port, protocol, name}' } });

const Docker = Type.Object({
  image: Type.String({ pattern: '\\S', message: { required: 'a Docker container needs an image', pattern: 'a Docker container needs an image' } }),
  forcePullImage: Optional(Type.Boolean()),
  network: Optional(refused('docker.network is replaced by the app\'s networks: [{"mode": "container/bridge"}]')),
}, { message: { type: 'expected an object' } });

const Container = Type.Object({
  type: maybe(choice(['DOCKER', 'MESOS'])),
  docker: Optional(Docker),
  portMappings: Optional(Type.Array(PortMapping)),
  volumes: maybe(Type.Array(HostVolume)),
}, {
  message: { type: 'expected an object' },
  allOf: [
    // No type is DOCKER.
    { if: { properties: { type: { enum: ['DOCKER', null] } } }, then: { required: ['docker'], message: { required: 'a DOCKER container needs docker: {"image": …}' } } },
    {
      if: { properties: { type: { const: 'MESOS' } }, required: ['type'] },
      then: { properties: { volumes: { not: { type: 'array', minItems: 1 }, message: 'volumes need a DOCKER container: a MESOS (process) task runs in the agent\'s own filesystem' } } },
    },
  ],
});

const Network = Type.Object({ mode: choice(['host', 'container/bridge', 'container']) }, { message: { type: 'expected an object {"mode": …}' } });
const NETWORKS = 'expected a non-empty list such as [{"mode": "container/bridge"}]';

/** A constraint's operator and value depend on each other: app.ts checks them, at the constraint. */
const Constraint = Type.Array(Type.String(), { minItems: 2, maxItems: 3, message: 'expected [field, operator] or [field, operator, value], all strings' });

const COMMAND_NEEDED = 'a COMMAND check needs command: {"value": "…"}';
const AGENT_CHECKS = 'checks run by the agent: use MESOS_';

const HealthCheck = Type.Object({
  protocol: maybe(choice(['MESOS_HTTP', 'MESOS_TCP', 'COMMAND'], { hints: { HTTP: `${AGENT_CHECKS}HTTP`, TCP: `${AGENT_CHECKS}TCP` } })),
  path: maybe(Type.String()),
  portIndex: Optional(Type.Integer({ minimum: 0 })),
  port: Optional(Port),
  command: maybe(Type.Object({ value: Type.String({ minLength: 1, message: COMMAND_NEEDED }) }, { message: COMMAND_NEEDED })),
  gracePeriodSeconds: atLeast(0),
  intervalSeconds: atLeast(0.001),
  timeoutSeconds: atLeast(0.001),
  delaySeconds: atLeast(0),
  maxConsecutiveFailures: Optional(Type.Integer({ minimum: 0 })),
}, {
  message: { type: 'expected an object', not: 'give port or portIndex, not both' },
  not: { type: 'object', required: ['port', 'portIndex'] },
  if: { properties: { protocol: { const: 'COMMAND' } }, required: ['protocol'] },
  then: { required: ['command'], properties: { command: { type: 'object', message: COMMAND_NEEDED } }, message: { required: COMMAND_NEEDED } },
});

const Fraction = Optional(Type.Number({ minimum: 0, maximum: 1 }));

const UnreachableStrategy = Type.Union([
  Type.Literal('disabled'),
  Type.Object({ inactiveAfterSeconds: atLeast(0), expungeAfterSeconds: atLeast(0) }),
  Type.Null(),
], { message: 'expected "disabled" or {inactiveAfterSeconds, expungeAfterSeconds}' });

/** An env value: a string; Marathon's secret references are refused by name. */
const EnvValue = Type.Unsafe<string>({
  if: { type: 'object', required: ['secret'] },
  then: { not: {}, message: 'expected a string, got {value} (secrets are not supported)' },
  else: { type: 'string' },
});

/** The fields in the order their problems are reported. */
export const APP = new JsonSchema(Type.Object({
  id: Type.String({ pattern: '\\S', message: 'id is required: a path such as /group/app' }),
  cmd: maybe(Type.String()),
  args: maybe(Type.Array(Type.String())),
  cpus: atLeast(0.001),
  mem: atLeast(0),
  disk: atLeast(0),
  gpus: Optional(Type.Integer({ minimum: 0 })),
  instances: Optional(Type.Integer({ minimum: 0 })),
  container: maybe(Container),
  networks: maybe(Type.Array(Network, { minItems: 1, message: { minItems: NETWORKS } }), { message: NETWORKS }),
  portDefinitions: maybe(Type.Array(PortDefinition)),
  requirePorts: Optional(Type.Boolean()),
  env: maybe(Type.Record(Type.String(), EnvValue)),
  labels: maybe(Type.Record(Type.String(), Type.String())),
  constraints: maybe(Type.Array(Constraint)),
  healthChecks: maybe(Type.Array(HealthCheck)),
  upgradeStrategy: Optional(Type.Object({ minimumHealthCapacity: Fraction, maximumOverCapacity: Fraction },
    { message: { type: 'expected an object {minimumHealthCapacity, maximumOverCapacity}' } })),
  backoffSeconds: atLeast(0),
  backoffFactor: atLeast(1),
  maxLaunchDelaySeconds: atLeast(0),
  killSelection: Optional(choice(['YOUNGEST_FIRST', 'OLDEST_FIRST'])),
  unreachableStrategy: Optional(UnreachableStrategy),
  taskKillGracePeriodSeconds: atLeast(0),
  user: maybe(Type.String()),
  dependencies: maybe(Type.Array(Type.String())),
}, { message: { type: 'expected a JSON object' } }));

/** An app definition as the schema passes it. */
export type AppJson = Static<typeof APP.schema>;
export type HealthCheckJson = Static<typeof HealthCheck>;
export type ContainerJson = Static<typeof Container>;

/**
 * A group (POST/PUT/PATCH /v2/groups): its apps (each read as an app of the group, by
 * app.ts), its subgroups, or `scaleBy` alone to scale every app it holds.
 */
export const GROUP = new JsonSchema(Type.Recursive((Group) => Type.Object({
  id: Optional(Type.String()),
  apps: maybe(Type.Array(Type.Unknown())),
  groups: maybe(Type.Array(Group)),
  scaleBy: Optional(Type.Number({ minimum: 0 })),
}, { message: { type: 'expected a group object {id, apps, groups}' } })));

export type GroupJson = Static<typeof GROUP.schema>;
