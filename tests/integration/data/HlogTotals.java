// Reads an .hlog with the reference implementation (org.HdrHistogram.HistogramLogReader) and
// prints what the reports test compares with strain's own result:
//   intervals N
//   count C
//   p99 V           (of all intervals added together, in the log's unit: µs for strain)
//   first_start S   (seconds, relative to the log's start)
// usage: java -cp hdrhistogram.jar:. HlogTotals IN.hlog
import java.util.Locale;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;

public class HlogTotals {
  public static void main(String[] args) throws Exception {
    HistogramLogReader reader = new HistogramLogReader(args[0]);
    Histogram total = null;
    int intervals = 0;
    double firstStart = -1;
    EncodableHistogram e;
    while ((e = reader.nextIntervalHistogram()) != null) {
      Histogram h = (Histogram) e;
      if (total == null) total = new Histogram(h.getNumberOfSignificantValueDigits());
      total.add(h);
      if (firstStart < 0) firstStart = h.getStartTimeStamp() / 1000.0 - reader.getStartTimeSec();
      ++intervals;
    }
    System.out.printf(Locale.US, "intervals %d%ncount %d%np99 %d%nfirst_start %.3f%n", intervals,
        total == null ? 0 : total.getTotalCount(),
        total == null ? 0 : total.getValueAtPercentile(99.0), firstStart);
  }
}
