#include "replication/sync_job.h"

#include <algorithm>
#include <sstream>
#include <thread>

#include "replication/tls_channel.h"

namespace mirrorca::replication {
namespace {

using Clock = std::chrono::steady_clock;

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string SyncSummary::ToJson() const {
  std::ostringstream o;
  o << "{\"ok\":" << (ok ? "true" : "false") << ",\"events_sent\":" << events_sent
    << ",\"events_received\":" << events_received << ",\"bytes_sent\":" << bytes_sent
    << ",\"bytes_received\":" << bytes_received << ",\"duration_ms\":"
    << static_cast<uint64_t>(seconds * 1000 + 0.5) << ",\"factory_size\":" << factory_size
    << ",\"cosigned_size\":" << cosigned_size << ",\"hq_held\":" << hq_held << ",\"hq_size\":" << hq_size
    << ",\"attempts\":" << attempts << ",\"rounds\":" << rounds;
  if (!refused.empty()) o << ",\"refused\":\"" << JsonEscape(refused) << "\"";
  if (!error.empty()) o << ",\"error\":\"" << JsonEscape(error) << "\"";
  o << "}";
  return o.str();
}

SyncSummary RunSyncJob(log::EventLog* own, log::EventLog* hq_copy, const SyncJobOptions& options) {
  const auto start = Clock::now();
  const auto deadline = start + options.deadline;
  auto stopped = [&] { return options.stopped && options.stopped(); };
  SyncSummary total;
  FactorySync sync(own, hq_copy, options.sync);
  auto backoff = options.first_backoff;
  uint64_t sent_before = 0, received_before = 0;  // bytes of earlier connections

  while (true) {
    if (stopped()) break;
    total.attempts++;
    Result<std::unique_ptr<TlsChannel>> ch =
        TlsChannel::Connect(options.host, options.port, options.tls, options.io_timeout);
    Status failure;
    if (!ch.ok()) {
      failure = ch.status();
    } else {
      uint64_t last_offered = UINT64_MAX;
      auto last_round = Clock::now();
      while (true) {
        Result<RoundResult> r = sync.Round(**ch);
        if (!r.ok()) {
          failure = r.status();
          total.events_sent += sync.last_sent();
          total.hq_held = sync.last_hq_held();
          break;
        }
        total.hq_held = sync.last_hq_held();
        total.rounds++;
        total.events_sent += r->events_sent;
        total.events_received += r->events_received;
        total.factory_size = r->factory_size;
        total.cosigned_size = r->cosigned_size;
        total.hq_size = r->hq_size;
        total.bytes_sent = sent_before + (*ch)->bytes_sent();
        total.bytes_received = received_before + (*ch)->bytes_received();
        last_offered = r->factory_size;
        last_round = Clock::now();
        backoff = options.first_backoff;
        if (!options.continuous) {
          (void)sync.Bye(**ch);
          (*ch)->Close();
          total.ok = r->cosigned_size == r->factory_size;
          total.exit_code = total.ok ? 0 : 1;
          total.error.clear();
          total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
          return total;
        }
        total.ok = true;
        total.error.clear();
        total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        if (options.on_round) options.on_round(total);
        // Continuous: wait for a new event, a heartbeat, or the stop.
        while (!stopped() && own->Size() == last_offered &&
               Clock::now() - last_round < options.heartbeat) {
          std::this_thread::sleep_for(options.poll);
        }
        if (stopped()) {
          (void)sync.Bye(**ch);
          (*ch)->Close();
          break;
        }
      }
      sent_before += (*ch)->bytes_sent();
      received_before += (*ch)->bytes_received();
      total.bytes_sent = sent_before;
      total.bytes_received = received_before;
      if (stopped()) break;
    }
    total.ok = false;
    total.error = failure.message();
    // What the failed attempt got through: the log it had to send, what HQ
    // held when the round began and what was streamed before the cut (HQ
    // may have stored it; the next round resumes from what HQ holds).
    total.factory_size = own->Size();
    if (sync.refused()) {
      total.refused = std::string(RefusalCode(sync.refused()->kind));
      if (sync.refused()->kind != RefusalKind::kBusy) {
        total.exit_code = 3;
        break;  // a divergence or identity problem: retrying cannot fix it
      }
    }
    if (!options.continuous && Clock::now() + backoff > deadline) break;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, options.max_backoff);
  }
  total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (total.exit_code != 3) total.exit_code = total.ok ? 0 : 1;
  return total;
}

}  // namespace mirrorca::replication
