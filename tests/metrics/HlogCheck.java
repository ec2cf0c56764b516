// Reads an .hlog with the reference implementation (org.HdrHistogram.HistogramLogReader), prints
// one line of figures per interval, and writes the histograms back out with HistogramLogWriter.
//
// usage: java -cp hdrhistogram.jar:. HlogCheck IN.hlog OUT.hlog > figures.txt
// figures.txt: tag start_s length_s total_count p50 p90 p99 p99.9 max   (tag "-" when none)

import java.io.FileOutputStream;
import java.io.PrintStream;
import java.util.Locale;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogReader;
import org.HdrHistogram.HistogramLogWriter;

public class HlogCheck {
  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: HlogCheck IN.hlog OUT.hlog");
      System.exit(2);
    }
    HistogramLogReader reader = new HistogramLogReader(args[0]);
    try (PrintStream out = new PrintStream(new FileOutputStream(args[1]))) {
      HistogramLogWriter writer = new HistogramLogWriter(out);
      boolean headerWritten = false;
      EncodableHistogram encodable;
      while ((encodable = reader.nextIntervalHistogram()) != null) {
        Histogram h = (Histogram) encodable;
        double startSec = reader.getStartTimeSec();
        if (!headerWritten) {
          long startMsec = Math.round(startSec * 1000.0);
          writer.outputLogFormatVersion();
          writer.outputStartTime(startMsec);
          writer.setBaseTime(startMsec);
          writer.outputBaseTime(startMsec);
          writer.outputLegend();
          headerWritten = true;
        }
        double relStart = h.getStartTimeStamp() / 1000.0 - startSec;
        double length = (h.getEndTimeStamp() - h.getStartTimeStamp()) / 1000.0;
        String tag = h.getTag();
        System.out.printf(Locale.US, "%s %.3f %.3f %d %d %d %d %d %d%n",
            tag == null ? "-" : tag, relStart, length, h.getTotalCount(),
            h.getValueAtPercentile(50.0), h.getValueAtPercentile(90.0),
            h.getValueAtPercentile(99.0), h.getValueAtPercentile(99.9), h.getMaxValue());
        writer.outputIntervalHistogram(relStart, relStart + length, h, 1000.0);
      }
    }
  }
}
