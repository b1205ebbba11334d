/**
 * The Mongo server both Mongo stores run on: MONGO_URL, else one answering on 27017, else a
 * throwaway (`mongod`, or FerretDB built from test/ferretdb), killed when this process exits. Handed
 * to the store processes through MONGO_URL, with what it is, so each row can say.
 */
export async function provideMongoServer(): Promise<void> {
  const { describeMongoServer, mongoServersProblem, startMongoServer } = await import('../test/support/mongo-servers');
  let url = process.env.MONGO_URL;
  if (url === undefined) {
    const local = 'mongodb://127.0.0.1:27017/';
    const answers = await describeMongoServer(local).then(() => true, () => false);
    if (answers) url = local;
    else if (mongoServersProblem() === undefined) url = (await startMongoServer({ log: (line) => process.stdout.write(`${line}\n`) })).url;
    else return;
  }
  const { server } = await describeMongoServer(url);
  process.env.MONGO_URL = url;
  process.env.SESSION_STORES_REPORT_MONGO_SERVER = server;
}
